/******************************************************************************
 * Project:  Pipit
 * Purpose:  The GDAL data type, colour interpretation and georeferencing of
 *           the client's image model, shared by the JPIP driver and
 *           `pipit get`, so both give the same bands the same type, colour
 *           and georeferencing.
 ****************************************************************************/
#ifndef JPIPGDALTYPES_H_INCLUDED
#define JPIPGDALTYPES_H_INCLUDED

#include <algorithm>

#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal.h"
#include "gdaljp2metadata.h"
#include "ogr_spatialref.h"
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

inline GDALColorInterp JPIPColorInterp(pipit::band_colour eColour)
{
    using pipit::band_colour;
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

// The georeferencing of the whole image at full resolution, read once from
// the JP2 boxes of metadata-bin 0 (GeoJP2, GMLJP2) by GDAL's JP2 metadata
// reader, the reader JP2OpenJPEG uses on the local file.
class JPIPGeoref
{
  public:
    bool bHaveGeoTransform = false;
    double adfGeoTransform[6] = {0, 1, 0, 0, 0, 1};
    OGRSpatialReference oSRS{};  // traditional GIS axis order
    GDAL_GCP *pasGCPs = nullptr; // owned
    int nGCPCount = 0;
    bool bPixelIsPoint = false;
    CPLStringList aosGMLMetadata{}; // domain "xml:gml.root-instance"

    JPIPGeoref() = default;
    JPIPGeoref(const JPIPGeoref &) = delete;
    JPIPGeoref &operator=(const JPIPGeoref &) = delete;
    ~JPIPGeoref()
    {
        if (pasGCPs != nullptr)
        {
            GDALDeinitGCPs(nGCPCount, pasGCPs);
            CPLFree(pasGCPs);
        }
    }

    // Reads the image's JP2 header; nothing for a raw codestream.
    void Read(const pipit::client::image_info &oInfo)
    {
        const auto &oHeader = oInfo.jp2_header;
        if (oHeader.empty())
            return;
        const CPLString osName(CPLSPrintf("/vsimem/jpip_georef_%p.jp2",
                                          static_cast<void *>(this)));
        VSILFILE *fp = VSIFileFromMemBuffer(
            osName, const_cast<GByte *>(oHeader.data()), oHeader.size(), FALSE);
        if (fp == nullptr)
            return;
        GDALJP2Metadata oJP2MD;
        if (oJP2MD.ReadAndParse(fp))
        {
            if (oJP2MD.bHaveGeoTransform)
            {
                bHaveGeoTransform = true;
                std::copy(oJP2MD.adfGeoTransform, oJP2MD.adfGeoTransform + 6,
                          adfGeoTransform);
            }
            if (!oJP2MD.m_oSRS.IsEmpty())
            {
                oSRS = oJP2MD.m_oSRS;
                oSRS.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
            }
            if (oJP2MD.nGCPCount > 0)
            {
                nGCPCount = oJP2MD.nGCPCount;
                pasGCPs =
                    GDALDuplicateGCPs(oJP2MD.nGCPCount, oJP2MD.pasGCPList);
            }
            bPixelIsPoint = CPL_TO_BOOL(oJP2MD.bPixelIsPoint);
            for (CSLConstList papszIter = oJP2MD.papszGMLMetadata;
                 papszIter != nullptr && *papszIter != nullptr; ++papszIter)
                aosGMLMetadata.AddString(*papszIter);
        }
        VSIFCloseL(fp);
        VSIUnlink(osName);
    }
};

#endif
