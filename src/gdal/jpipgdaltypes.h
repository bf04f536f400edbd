/******************************************************************************
 * Project:  Pipit
 * Purpose:  The GDAL data type and colour interpretation of the client's
 *           image model, shared by the JPIP driver and `pipit get`, so both
 *           give the same bands the same type and colour.
 ****************************************************************************/
#ifndef JPIPGDALTYPES_H_INCLUDED
#define JPIPGDALTYPES_H_INCLUDED

#include "gdal.h"
#include "pipit/client.hpp"

// The data type of every band (pipit::client::image_info::samples()).
inline GDALDataType JPIPDataType(const pipit::client::image_info &oInfo)
{
    const auto oType = oInfo.samples();
    if (oType.bits == 8)
        return GDT_Byte;
    if (oType.bits == 16)
        return oType.is_signed ? GDT_Int16 : GDT_UInt16;
    return oType.is_signed ? GDT_Int32 : GDT_UInt32;
}

inline GDALColorInterp JPIPColorInterp(pipit::client::band_colour eColour)
{
    using pipit::client::band_colour;
    switch (eColour)
    {
        case band_colour::gray:
            return GCI_GrayIndex;
        case band_colour::red:
            return GCI_RedBand;
        case band_colour::green:
            return GCI_GreenBand;
        case band_colour::blue:
            return GCI_BlueBand;
        case band_colour::alpha:
            return GCI_AlphaBand;
        case band_colour::y:
            return GCI_YCbCr_YBand;
        case band_colour::cb:
            return GCI_YCbCr_CbBand;
        case band_colour::cr:
            return GCI_YCbCr_CrBand;
        case band_colour::undefined:
            break;
    }
    return GCI_Undefined;
}

#endif
