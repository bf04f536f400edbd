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
#include <string>
#include <vector>

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

// The colour interpretation of every band: R, G, B (and alpha) for a 4:2:0
// image, whose bands are converted to RGB as JP2OpenJPEG converts them
// (pipit::client::is_ycbcr420); else each component's colour.
inline std::vector<GDALColorInterp> JPIPBandColorInterps(
    const pipit::client::image_info &oInfo)
{
    std::vector<GDALColorInterp> aeOut;
    if (pipit::client::is_ycbcr420(oInfo))
    {
        for (std::size_t i = 0; i < oInfo.num_components(); ++i)
            aeOut.push_back(i < 3 ? static_cast<GDALColorInterp>(
                                        GCI_RedBand + static_cast<int>(i))
                                  : GCI_AlphaBand);
        return aeOut;
    }
    for (const auto eColour : oInfo.colours())
        aeOut.push_back(JPIPColorInterp(eColour));
    return aeOut;
}

// The georeferencing of the whole image at full resolution, made by GDAL's
// parsers from the payloads the core's box reader found in metadata-bin 0
// (pipit::jp2_description: GeoJP2 GeoTIFFs, GMLJP2 and top-level xml boxes),
// as JP2OpenJPEG makes it from the local file: GeoJP2 first (the first of
// at most two boxes that gives an SRS, one not local preferred), then GMLJP2.
class JPIPGeoref
{
  public:
    bool bHaveGeoTransform = false;
    double adfGeoTransform[6] = {0, 1, 0, 0, 0, 1};
    OGRSpatialReference oSRS{};  // traditional GIS axis order
    GDAL_GCP *pasGCPs = nullptr; // owned
    int nGCPCount = 0;
    bool bPixelIsPoint = false;
    // The XML documents as JP2OpenJPEG names them, "label=xml": the
    // labelled ones of GMLJP2 (gml.root-instance...), then BOX_n for the
    // n-th top-level xml box. Each is the metadata domain "xml:label".
    CPLStringList aosXMLBoxes{};

    JPIPGeoref() = default;
    JPIPGeoref(const JPIPGeoref &) = delete;
    JPIPGeoref &operator=(const JPIPGeoref &) = delete;
    ~JPIPGeoref() { ClearGCPs(); }

    // Reads the payloads of the image's JP2 header; nothing for a raw
    // codestream.
    void Read(const pipit::client::image_info &oInfo)
    {
        if (!oInfo.jp2)
            return;
        const pipit::jp2_description &oJP2 = *oInfo.jp2;
        const pipit::bytes_view oBytes(oInfo.jp2_header.data(),
                                       oInfo.jp2_header.size());
        GDALJP2Metadata oGML;
        CollectXML(oJP2, oBytes, oGML);
        if (!ReadGeoJP2(oJP2, oBytes) && oGML.ParseGMLCoverageDesc())
        {
            bHaveGeoTransform = oGML.bHaveGeoTransform;
            std::copy(oGML.adfGeoTransform, oGML.adfGeoTransform + 6,
                      adfGeoTransform);
            if (!oGML.m_oSRS.IsEmpty())
            {
                oSRS = oGML.m_oSRS;
                oSRS.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
            }
            bPixelIsPoint = oGML.bPixelIsPoint;
        }
    }

  private:
    void ClearGCPs()
    {
        if (pasGCPs != nullptr)
        {
            GDALDeinitGCPs(nGCPCount, pasGCPs);
            CPLFree(pasGCPs);
        }
        pasGCPs = nullptr;
        nGCPCount = 0;
    }

    static std::string Text(const pipit::bytes_view &oBytes,
                            const pipit::byte_range &oRange)
    {
        if (oRange.end() > oBytes.size())
            return {};
        // Up to the first NUL (trailing NULs pad some GML boxes).
        const char *p =
            reinterpret_cast<const char *>(oBytes.data()) + oRange.offset;
        return {
            p, std::find(p, p + static_cast<std::size_t>(oRange.length), '\0')};
    }

    // The XML documents, in file order; oGML gets them for its GML reader.
    void CollectXML(const pipit::jp2_description &oJP2,
                    const pipit::bytes_view &oBytes, GDALJP2Metadata &oGML)
    {
        std::vector<const pipit::xml_box *> apoBoxes;
        for (const auto &oBox : oJP2.gmljp2)
            apoBoxes.push_back(&oBox);
        for (const auto &oBox : oJP2.xml)
            apoBoxes.push_back(&oBox);
        std::stable_sort(apoBoxes.begin(), apoBoxes.end(),
                         [](const auto *a, const auto *b) {
                             return a->box_offset < b->box_offset;
                         });
        int iBox = 0;
        for (const auto *poBox : apoBoxes)
        {
            const CPLString osXML(Text(oBytes, poBox->xml));
            CPLString osLabel(poBox->label);
            if (osLabel.empty())
            {
                // GDAL's own metadata box is metadata, not a document.
                if (STARTS_WITH(osXML, "<GDALMultiDomainMetadata>"))
                    continue;
                osLabel.Printf("BOX_%d", iBox++);
            }
            aosXMLBoxes.SetNameValue(osLabel, osXML);
        }
        oGML.papszGMLMetadata = CSLDuplicate(aosXMLBoxes.List());
    }

    // The GeoJP2 boxes' GeoTIFFs, read by GDAL's GeoTIFF driver.
    bool ReadGeoJP2(const pipit::jp2_description &oJP2,
                    const pipit::bytes_view &oBytes)
    {
        int iBest = -1;
        bool bBestSRS = false, bBestLocal = false;
        const std::size_t nMax = std::min<std::size_t>(oJP2.geojp2.size(), 2);
        for (std::size_t i = 0; i < nMax; ++i)
        {
            const pipit::byte_range &oTIFF = oJP2.geojp2[i].tiff;
            if (oTIFF.end() > oBytes.size())
                continue;
            const CPLString osName(CPLSPrintf("/vsimem/jpip_geojp2_%p_%d.tif",
                                              static_cast<void *>(this),
                                              static_cast<int>(i)));
            VSILFILE *fp = VSIFileFromMemBuffer(
                osName, const_cast<GByte *>(oBytes.data() + oTIFF.offset),
                static_cast<vsi_l_offset>(oTIFF.length), FALSE);
            if (fp == nullptr)
                continue;
            VSIFCloseL(fp);
            const char *const apszDrivers[] = {"GTiff", nullptr};
            CPLPushErrorHandler(CPLQuietErrorHandler);
            GDALDatasetH hDS = GDALOpenEx(osName, GDAL_OF_RASTER, apszDrivers,
                                          nullptr, nullptr);
            CPLPopErrorHandler();
            if (hDS != nullptr)
            {
                GDALDataset *poDS = GDALDataset::FromHandle(hDS);
                const OGRSpatialReference *poSRS = poDS->GetSpatialRef();
                if (poSRS == nullptr)
                    poSRS = poDS->GetGCPSpatialRef();
                double adf[6] = {0, 1, 0, 0, 0, 1};
                const bool bGT = poDS->GetGeoTransform(adf) == CE_None;
                const int nGCPs = poDS->GetGCPCount();
                // The first box with an SRS, or a later one when that SRS
                // is local; with no SRS anywhere, the last box with a
                // geotransform or GCPs.
                const bool bTake = poSRS != nullptr
                                       ? !bBestSRS || bBestLocal
                                       : !bBestSRS && (bGT || nGCPs > 0);
                if (bTake)
                {
                    iBest = static_cast<int>(i);
                    bBestSRS = poSRS != nullptr;
                    bBestLocal = bBestSRS && poSRS->IsLocal();
                    oSRS.Clear();
                    if (poSRS != nullptr)
                        oSRS = *poSRS;
                    oSRS.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
                    bHaveGeoTransform = bGT;
                    std::copy(adf, adf + 6, adfGeoTransform);
                    ClearGCPs();
                    if (nGCPs > 0)
                    {
                        nGCPCount = nGCPs;
                        pasGCPs = GDALDuplicateGCPs(nGCPs, poDS->GetGCPs());
                    }
                    const char *pszAOP =
                        poDS->GetMetadataItem(GDALMD_AREA_OR_POINT);
                    bPixelIsPoint =
                        pszAOP != nullptr && EQUAL(pszAOP, GDALMD_AOP_POINT);
                }
                GDALClose(hDS);
            }
            VSIUnlink(osName);
        }
        return iBest >= 0;
    }
};

#endif
