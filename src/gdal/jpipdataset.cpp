/******************************************************************************
 * Project:  Pipit
 * Purpose:  JPIPDataset and JPIPRasterBand: opening, geometry, metadata,
 *           georeferencing and synchronous reads.
 ****************************************************************************/
#include "jpipdataset.h"
#include "jpipgdaltypes.h"
#include "jpipoptions.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdaljp2abstractdataset.h"

namespace
{

// A read the direct path can serve: same size as the buffer, and no
// fractional source window (GDAL resamples those itself).
bool IsExactWindow(int nXOff, int nYOff, int nXSize, int nYSize, int nBufXSize,
                   int nBufYSize, const GDALRasterIOExtraArg *psExtraArg)
{
    if (nBufXSize != nXSize || nBufYSize != nYSize)
        return false;
    if (psExtraArg != nullptr && psExtraArg->bFloatingPointWindowValidity)
        return psExtraArg->dfXOff == nXOff && psExtraArg->dfYOff == nYOff &&
               psExtraArg->dfXSize == nXSize && psExtraArg->dfYSize == nYSize;
    return true;
}

} // namespace

void JPIPReportError(const pipit::error &oError, const char *pszContext)
{
    const CPLErrorNum nErr =
        oError.code == pipit::errc::not_found ? CPLE_OpenFailed
        : oError.code == pipit::errc::corrupt ? CPLE_AppDefined
                                              : CPLE_HttpResponse;
    CPLError(CE_Failure, nErr, "JPIP: %s: %s", pszContext,
             oError.message.c_str());
}

void JPIPCopyPlane(const pipit::client::decoded_window::plane &oPlane,
                   void *pDst, GDALDataType eBufType, int nBufXSize,
                   int nBufYSize, GSpacing nPixelSpace, GSpacing nLineSpace)
{
    const int nSrcW = static_cast<int>(oPlane.width);
    const int nSrcH = static_cast<int>(oPlane.height);
    auto *pabyDst = static_cast<GByte *>(pDst);
    if (nSrcW == nBufXSize && nSrcH == nBufYSize)
    {
        for (int iY = 0; iY < nBufYSize; ++iY)
            GDALCopyWords(oPlane.samples.data() +
                              static_cast<size_t>(iY) * nSrcW,
                          GDT_Int32, 4, pabyDst + iY * nLineSpace, eBufType,
                          static_cast<int>(nPixelSpace), nBufXSize);
        return;
    }
    std::vector<GInt32> anRow(nBufXSize);
    for (int iY = 0; iY < nBufYSize; ++iY)
    {
        const int nSrcY = std::min(
            nSrcH - 1, static_cast<int>((iY + 0.5) * nSrcH / nBufYSize));
        const GInt32 *panSrc =
            oPlane.samples.data() + static_cast<size_t>(nSrcY) * nSrcW;
        for (int iX = 0; iX < nBufXSize; ++iX)
            anRow[iX] = panSrc[std::min(
                nSrcW - 1, static_cast<int>((iX + 0.5) * nSrcW / nBufXSize))];
        GDALCopyWords(anRow.data(), GDT_Int32, 4, pabyDst + iY * nLineSpace,
                      eBufType, static_cast<int>(nPixelSpace), nBufXSize);
    }
}

/************************************************************************/
/*                          JPIPRasterBand                              */
/************************************************************************/

JPIPRasterBand::JPIPRasterBand(JPIPDataset *poDSIn, int nBandIn,
                               GDALDataType eDT)
{
    poDS = poDSIn;
    nBand = nBandIn;
    eDataType = eDT;
    nRasterXSize = poDSIn->GetRasterXSize();
    nRasterYSize = poDSIn->GetRasterYSize();
    const auto &oInfo = poDSIn->m_poShared->Info();
    const std::uint32_t nXTsiz = oInfo.siz().XTsiz;
    int nBlock = 512;
    if (nXTsiz < oInfo.width() && nXTsiz >= 64 && nXTsiz <= 2048)
        nBlock = std::max(64, static_cast<int>(nXTsiz >> poDSIn->m_nLevel));
    nBlockXSize = std::min(nBlock, nRasterXSize);
    nBlockYSize = std::min(nBlock, nRasterYSize);
    const auto &oComp = oInfo.component(nBandIn - 1);
    if (oComp.precision != 8 && oComp.precision != 16 && oComp.precision != 32)
        SetMetadataItem("NBITS", CPLSPrintf("%d", oComp.precision),
                        "IMAGE_STRUCTURE");
}

CPLErr JPIPRasterBand::IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage)
{
    const int nXOff = nBlockXOff * nBlockXSize;
    const int nYOff = nBlockYOff * nBlockYSize;
    const int nXSize = std::min(nBlockXSize, nRasterXSize - nXOff);
    const int nYSize = std::min(nBlockYSize, nRasterYSize - nYOff);
    const int nDTSize = GDALGetDataTypeSizeBytes(eDataType);
    if (nXSize < nBlockXSize || nYSize < nBlockYSize)
        memset(pImage, 0,
               static_cast<size_t>(nBlockXSize) * nBlockYSize * nDTSize);
    int nBandNum = nBand;
    return cpl::down_cast<JPIPDataset *>(poDS)->ReadWindow(
        nXOff, nYOff, nXSize, nYSize, pImage, eDataType, 1, &nBandNum, nDTSize,
        static_cast<GSpacing>(nDTSize) * nBlockXSize, 0);
}

CPLErr JPIPRasterBand::IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff,
                                 int nXSize, int nYSize, void *pData,
                                 int nBufXSize, int nBufYSize,
                                 GDALDataType eBufType, GSpacing nPixelSpace,
                                 GSpacing nLineSpace,
                                 GDALRasterIOExtraArg *psExtraArg)
{
    if (eRWFlag == GF_Read && IsExactWindow(nXOff, nYOff, nXSize, nYSize,
                                            nBufXSize, nBufYSize, psExtraArg))
    {
        int nBandNum = nBand;
        return cpl::down_cast<JPIPDataset *>(poDS)->ReadWindow(
            nXOff, nYOff, nXSize, nYSize, pData, eBufType, 1, &nBandNum,
            nPixelSpace, nLineSpace, 0);
    }
    return GDALPamRasterBand::IRasterIO(eRWFlag, nXOff, nYOff, nXSize, nYSize,
                                        pData, nBufXSize, nBufYSize, eBufType,
                                        nPixelSpace, nLineSpace, psExtraArg);
}

GDALColorInterp JPIPRasterBand::GetColorInterpretation()
{
    return m_eColorInterp;
}

int JPIPRasterBand::GetOverviewCount()
{
    auto poGDS = cpl::down_cast<JPIPDataset *>(poDS);
    return static_cast<int>(poGDS->m_apoOverviewDS.size());
}

GDALRasterBand *JPIPRasterBand::GetOverview(int iOverview)
{
    auto poGDS = cpl::down_cast<JPIPDataset *>(poDS);
    if (iOverview < 0 ||
        iOverview >= static_cast<int>(poGDS->m_apoOverviewDS.size()))
        return nullptr;
    return poGDS->m_apoOverviewDS[iOverview]->GetRasterBand(nBand);
}

/************************************************************************/
/*                            JPIPDataset                               */
/************************************************************************/

JPIPDataset::~JPIPDataset()
{
    JPIPDataset::FlushCache(true);
    m_apoOverviewDS.clear();
}

int JPIPDataset::Identify(GDALOpenInfo *poOpenInfo)
{
    std::string osURL;
    std::uint32_t nStream = 0;
    return STARTS_WITH_CI(poOpenInfo->pszFilename, "JPIP://") ||
           STARTS_WITH_CI(poOpenInfo->pszFilename, "JPIPS://") ||
           JPIPParseSubdatasetName(poOpenInfo->pszFilename, osURL, nStream);
}

GDALDataset *JPIPDataset::Open(GDALOpenInfo *poOpenInfo)
{
    if (!Identify(poOpenInfo))
        return nullptr;
    if (poOpenInfo->eAccess == GA_Update)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "JPIP: the driver is read-only");
        return nullptr;
    }

    const char *pszStreamType = JPIPStreamType(poOpenInfo->papszOpenOptions);
    if (!EQUAL(pszStreamType, "JPP") && !EQUAL(pszStreamType, "JPT"))
    {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "JPIP: STREAM_TYPE=%s: the stream types are JPP (precinct "
                 "data-bins) and JPT (tile data-bins)",
                 pszStreamType);
        return nullptr;
    }
    // "JPIP:N:url" names codestream N (a subdataset); a URL alone names the
    // codestream of the STREAM open option, 0 by default.
    std::string osURL = poOpenInfo->pszFilename;
    std::uint32_t nStream = 0;
    const bool bSubdataset =
        JPIPParseSubdatasetName(poOpenInfo->pszFilename, osURL, nStream);
    if (!bSubdataset)
    {
        const char *pszStream =
            CSLFetchNameValue(poOpenInfo->papszOpenOptions, "STREAM");
        if (pszStream != nullptr)
        {
            char *pszEnd = nullptr;
            const unsigned long long n = std::strtoull(pszStream, &pszEnd, 10);
            if (*pszStream < '0' || *pszStream > '9' || *pszEnd != '\0' ||
                n > 0xFFFFFFFFull)
            {
                CPLError(CE_Failure, CPLE_IllegalArg,
                         "JPIP: STREAM=%s: a codestream number is expected",
                         pszStream);
                return nullptr;
            }
            nStream = static_cast<std::uint32_t>(n);
        }
    }
    if (!STARTS_WITH_CI(osURL.c_str(), "JPIP://") &&
        !STARTS_WITH_CI(osURL.c_str(), "JPIPS://"))
    {
        CPLError(CE_Failure, CPLE_OpenFailed,
                 "JPIP: %s: a subdataset name is JPIP:N:jpip://... or "
                 "JPIP:N:jpips://...",
                 poOpenInfo->pszFilename);
        return nullptr;
    }

    pipit::client::client_options oOptions =
        JPIPClientOptions(osURL.c_str(), poOpenInfo->papszOpenOptions);
    oOptions.codestream = nStream;

    auto oClient = pipit::client::jpip_client::open(osURL, oOptions);
    if (!oClient)
    {
        JPIPReportError(oClient.error(), poOpenInfo->pszFilename);
        return nullptr;
    }
    auto poShared = std::make_shared<JPIPShared>();
    poShared->poClient = std::move(*oClient);
    const auto &oInfo = poShared->Info();
    if (oInfo.num_components() == 0 || oInfo.width() == 0 ||
        oInfo.height() == 0)
    {
        CPLError(CE_Failure, CPLE_OpenFailed, "JPIP: %s: empty image",
                 poOpenInfo->pszFilename);
        return nullptr;
    }
    poShared->bFetchWholeTiles = CPLTestBool(CSLFetchNameValueDef(
        poOpenInfo->papszOpenOptions, "FETCH_WHOLE_TILES",
        CPLGetConfigOption("JPIP_FETCH_WHOLE_TILES", "NO")));
    poShared->bIs420 = pipit::client::is_ycbcr420(oInfo);
    for (const auto &c : oInfo.siz().components)
    {
        if ((c.XRsiz != 1 || c.YRsiz != 1) && !poShared->bIs420)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "JPIP: %s: sub-sampled components are supported only as "
                     "4:2:0 (8-bit Y, Cb, Cr with Cb and Cr halved both "
                     "ways, of an even-sized image at the grid's origin), as "
                     "JP2OpenJPEG reads them; component sub-sampling %ux%u",
                     poOpenInfo->pszFilename, c.XRsiz, c.YRsiz);
            return nullptr;
        }
    }

    const GDALDataType eDT = JPIPDataType(oInfo);
    auto poDS = std::make_unique<JPIPDataset>();
    poDS->m_poShared = poShared;
    poDS->nRasterXSize = static_cast<int>(oInfo.width());
    poDS->nRasterYSize = static_cast<int>(oInfo.height());
    const int nComps = static_cast<int>(oInfo.num_components());
    for (int i = 0; i < nComps; ++i)
        poDS->SetBand(i + 1, new JPIPRasterBand(poDS.get(), i + 1, eDT));

    for (std::uint32_t nLevel = 1; nLevel <= oInfo.levels(); ++nLevel)
    {
        const int nW = static_cast<int>(oInfo.width_at(nLevel));
        const int nH = static_cast<int>(oInfo.height_at(nLevel));
        if (nW < 1 || nH < 1)
            break;
        auto poODS = std::make_unique<JPIPDataset>();
        poODS->m_poShared = poShared;
        poODS->m_nLevel = static_cast<int>(nLevel);
        poODS->nRasterXSize = nW;
        poODS->nRasterYSize = nH;
        poODS->eAccess = GA_ReadOnly;
        for (int i = 0; i < nComps; ++i)
            poODS->SetBand(i + 1, new JPIPRasterBand(poODS.get(), i + 1, eDT));
        poDS->m_apoOverviewDS.push_back(std::move(poODS));
    }

    poDS->SetMetadataItem("JPIP_NQUALITYLAYERS",
                          CPLSPrintf("%u", oInfo.layers()), "JPIP");
    // As JPIPKAK: the number of decomposition levels (Clevels), which is
    // also the number of overviews.
    poDS->SetMetadataItem("JPIP_NRESOLUTIONLEVELS",
                          CPLSPrintf("%u", oInfo.levels()), "JPIP");
    poDS->SetMetadataItem("JPIP_NCOMPS", CPLSPrintf("%d", nComps), "JPIP");
    poDS->SetMetadataItem(
        "JPIP_SPRECISION",
        CPLSPrintf("%d", static_cast<int>(oInfo.component(0).precision)),
        "JPIP");
    poDS->SetMetadataItem("JPIP_TARGET_ID", oInfo.target_id.c_str(), "JPIP");
    poDS->SetMetadataItem("JPIP_CODESTREAM", CPLSPrintf("%u", oInfo.csn),
                          "JPIP");
    poDS->SetMetadataItem("JPIP_NCODESTREAMS",
                          CPLSPrintf("%u", oInfo.num_codestreams), "JPIP");
    // Every codestream of a target of several (a JPX) is a subdataset, as
    // GDAL's PDF and GTiff drivers list pages: SUBDATASET_1 is codestream 0.
    if (oInfo.num_codestreams > 1)
    {
        for (std::uint32_t i = 0; i < oInfo.num_codestreams; ++i)
        {
            poDS->SetMetadataItem(CPLSPrintf("SUBDATASET_%u_NAME", i + 1),
                                  JPIPSubdatasetName(osURL.c_str(), i).c_str(),
                                  "SUBDATASETS");
            poDS->SetMetadataItem(
                CPLSPrintf("SUBDATASET_%u_DESC", i + 1),
                CPLSPrintf("Codestream %u of %s", i, osURL.c_str()),
                "SUBDATASETS");
        }
    }
    poDS->SetMetadataItem("COMPRESSION", "JPEG2000", "IMAGE_STRUCTURE");
    poDS->SetMetadataItem("JPIP_YCC", oInfo.mct() ? "YES" : "NO", "JPIP");
    if (oInfo.component(0).is_signed)
        poDS->SetMetadataItem("JPIP_SIGNED", "YES", "JPIP");

    poShared->oGeoref.Read(oInfo);
    poDS->SetGeorefMetadata();
    poDS->SetBandColorInterpretations();
    for (auto &poODS : poDS->m_apoOverviewDS)
    {
        for (int i = 1; i <= nComps; ++i)
            cpl::down_cast<JPIPRasterBand *>(poODS->GetRasterBand(i))
                ->m_eColorInterp =
                cpl::down_cast<JPIPRasterBand *>(poDS->GetRasterBand(i))
                    ->m_eColorInterp;
    }

    poDS->SetDescription(poOpenInfo->pszFilename);
    poDS->eAccess = GA_ReadOnly;
    // No .aux.xml beside a URL.
    poDS->nPamFlags |= GPF_DISABLED;
    return poDS.release();
}

/************************************************************************/
/*             Georeferencing and colour from the JP2 boxes              */
/************************************************************************/

void JPIPDataset::SetGeorefMetadata()
{
    const JPIPGeoref &oGeoref = m_poShared->oGeoref;
    if (oGeoref.bPixelIsPoint)
        SetMetadataItem(GDALMD_AREA_OR_POINT, GDALMD_AOP_POINT);
    // One domain "xml:label" per XML document, holding it, as in
    // JP2OpenJPEG.
    for (int i = 0; i < oGeoref.aosXMLBoxes.size(); ++i)
    {
        char *pszKey = nullptr;
        const char *pszValue =
            CPLParseNameValue(oGeoref.aosXMLBoxes[i], &pszKey);
        if (pszKey != nullptr && pszValue != nullptr)
        {
            char *apszMD[2] = {const_cast<char *>(pszValue), nullptr};
            SetMetadata(apszMD, CPLSPrintf("xml:%s", pszKey));
        }
        CPLFree(pszKey);
    }
}

void JPIPDataset::SetBandColorInterpretations()
{
    const auto aeColours = JPIPBandColorInterps(m_poShared->Info());
    for (int i = 0;
         i < nBands && static_cast<std::size_t>(i) < aeColours.size(); ++i)
        cpl::down_cast<JPIPRasterBand *>(GetRasterBand(i + 1))->m_eColorInterp =
            aeColours[i];
}

CPLErr JPIPDataset::GetGeoTransform(double *padfTransform)
{
    const JPIPGeoref &oGeoref = m_poShared->oGeoref;
    if (m_nLevel == 0 && oGeoref.bHaveGeoTransform)
    {
        memcpy(padfTransform, oGeoref.adfGeoTransform,
               sizeof(oGeoref.adfGeoTransform));
        return CE_None;
    }
    return GDALPamDataset::GetGeoTransform(padfTransform);
}

const OGRSpatialReference *JPIPDataset::GetSpatialRef() const
{
    const JPIPGeoref &oGeoref = m_poShared->oGeoref;
    if (m_nLevel == 0 && !oGeoref.oSRS.IsEmpty() && oGeoref.nGCPCount == 0)
        return &oGeoref.oSRS;
    return GDALPamDataset::GetSpatialRef();
}

namespace
{

// The live statistics of the JPIP metadata domain: one row per key.
struct JPIPStat
{
    const char *pszName;
    std::string (*pfnValue)(const pipit::client::transfer_stats &);
};

std::string Count(std::uint64_t n)
{
    return std::to_string(n);
}

const JPIPStat asJPIPStats[] = {
    {"JPIP_STAT_REQUESTS", [](const auto &s) { return Count(s.requests); }},
    {"JPIP_STAT_BYTES_RECEIVED",
     [](const auto &s) { return Count(s.body_bytes); }},
    {"JPIP_STAT_NEW_BYTES", [](const auto &s) { return Count(s.new_bytes); }},
    {"JPIP_STAT_SESSIONS", [](const auto &s) { return Count(s.sessions); }},
    {"JPIP_STAT_RECONNECTS", [](const auto &s) { return Count(s.reconnects); }},
    {"JPIP_STAT_CACHED_BYTES",
     [](const auto &s) { return Count(s.cached_bytes); }},
    {"JPIP_STAT_CACHE_LOADED",
     [](const auto &s) {
         return std::string(s.loaded_from_disk ? "YES" : "NO");
     }},
    {"JPIP_STAT_STATELESS",
     [](const auto &s) { return std::string(s.stateless ? "YES" : "NO"); }},
    {"JPIP_STAT_TILES_DECODED",
     [](const auto &s) { return Count(s.cells_decoded); }},
    {"JPIP_STAT_TILES_DECODED_OPENJPH",
     [](const auto &s) { return Count(s.cells_decoded_openjph); }},
    {"JPIP_STAT_TILES_REUSED",
     [](const auto &s) { return Count(s.cells_reused); }},
    {"JPIP_STAT_DECODED_CACHE_BYTES",
     [](const auto &s) { return Count(s.decoded_cache_bytes); }},
};

} // namespace

const char *JPIPDataset::GetMetadataItem(const char *pszName,
                                         const char *pszDomain)
{
    // Live transfer statistics of the shared client.
    if (pszName != nullptr && pszDomain != nullptr &&
        EQUAL(pszDomain, "JPIP") && STARTS_WITH_CI(pszName, "JPIP_STAT_"))
    {
        for (const auto &oStat : asJPIPStats)
        {
            if (EQUAL(pszName, oStat.pszName))
                return CPLSPrintf(
                    "%s",
                    oStat.pfnValue(m_poShared->poClient->stats()).c_str());
        }
        return nullptr;
    }
    return GDALPamDataset::GetMetadataItem(pszName, pszDomain);
}

char **JPIPDataset::GetMetadata(const char *pszDomain)
{
    if (pszDomain == nullptr || !EQUAL(pszDomain, "JPIP"))
        return GDALPamDataset::GetMetadata(pszDomain);
    // The static items of the domain, then the statistics as they are now.
    m_aosJPIPMetadata.Assign(
        CSLDuplicate(GDALPamDataset::GetMetadata(pszDomain)), true);
    const auto oStats = m_poShared->poClient->stats();
    for (const auto &oStat : asJPIPStats)
        m_aosJPIPMetadata.SetNameValue(oStat.pszName,
                                       oStat.pfnValue(oStats).c_str());
    return m_aosJPIPMetadata.List();
}

int JPIPDataset::GetGCPCount()
{
    return m_nLevel == 0 ? m_poShared->oGeoref.nGCPCount : 0;
}

const OGRSpatialReference *JPIPDataset::GetGCPSpatialRef() const
{
    const JPIPGeoref &oGeoref = m_poShared->oGeoref;
    // The SRS, GCPs or not, as JP2OpenJPEG answers.
    return m_nLevel == 0 && !oGeoref.oSRS.IsEmpty() ? &oGeoref.oSRS : nullptr;
}

const GDAL_GCP *JPIPDataset::GetGCPs()
{
    return m_nLevel == 0 ? m_poShared->oGeoref.pasGCPs : nullptr;
}

pipit::client::window JPIPShared::TileAligned(
    const pipit::client::window &oWin) const
{
    const auto &o = Info().siz();
    const std::uint32_t d = oWin.discard_levels;
    const std::uint64_t s = std::uint64_t{1} << d;
    const bool bTiled = o.XTsiz < o.width() || o.YTsiz < o.height();
    if (!bTiled || o.XTsiz == 0 || o.YTsiz == 0 || (o.XTsiz >> d) > 4096 ||
        (o.YTsiz >> d) > 4096)
        return oWin;
    // One axis: the frame interval [v, v + n) at level d grown to the tiles
    // it meets (reference grid: origin O, size S, tiles of T from TO).
    auto Grow = [s, d](std::int64_t &nV0, std::int64_t &nV1, std::uint64_t O,
                       std::uint64_t S, std::uint64_t T, std::uint64_t TO) {
        const auto v = static_cast<std::uint64_t>(nV0);
        const auto n = static_cast<std::uint64_t>(nV1 - nV0);
        auto Down = [d](std::uint64_t X) {
            return static_cast<std::uint64_t>(
                pipit::ceil_div_pow2(static_cast<std::int64_t>(X), d));
        };
        const std::uint64_t o0 = Down(O);
        const std::uint64_t R0 = std::max(O, (o0 + v) * s);
        const std::uint64_t R1 = std::min(S, (o0 + v + n) * s);
        const std::uint64_t p0 = (R0 - TO) / T;
        const auto p1 = static_cast<std::uint64_t>(pipit::ceil_div(
            static_cast<std::int64_t>(R1 - TO), static_cast<std::int64_t>(T)));
        const std::uint64_t A0 = std::max(O, TO + p0 * T);
        const std::uint64_t A1 = std::min(S, TO + p1 * T);
        const std::uint64_t f0 = Down(A0) - o0;
        const std::uint64_t f1 = Down(A1) - o0;
        if (f1 <= f0 || f0 > v || f1 < v + n)
            return false;
        nV0 = static_cast<std::int64_t>(f0);
        nV1 = static_cast<std::int64_t>(f1);
        return true;
    };
    pipit::client::window oOut = oWin;
    if (!Grow(oOut.region.x0, oOut.region.x1, o.XOsiz, o.Xsiz, o.XTsiz,
              o.XTOsiz) ||
        !Grow(oOut.region.y0, oOut.region.y1, o.YOsiz, o.Ysiz, o.YTsiz,
              o.YTOsiz))
        return oWin;
    return oOut;
}

pipit::client::window JPIPShared::ClientWindow(
    const pipit::client::window &oWin) const
{
    return bIs420 ? pipit::client::ycbcr420_source(oWin) : oWin;
}

pipit::result<pipit::client::decoded_window> JPIPShared::Decode(
    const pipit::client::window &oWin) const
{
    if (!bIs420)
        return poClient->decode(oWin);
    auto oDecoded = poClient->decode(ClientWindow(oWin));
    if (!oDecoded)
        return oDecoded;
    return pipit::client::ycbcr420_to_rgb(oWin, *oDecoded);
}

/************************************************************************/
/*                               Reads                                  */
/************************************************************************/

CPLErr JPIPDataset::ReadWindow(int nXOff, int nYOff, int nXSize, int nYSize,
                               void *pData, GDALDataType eBufType,
                               int nBandCount, const int *panBandMap,
                               GSpacing nPixelSpace, GSpacing nLineSpace,
                               GSpacing nBandSpace)
{
    pipit::client::window oWin;
    oWin.discard_levels = static_cast<std::uint32_t>(m_nLevel);
    oWin.region = pipit::rect{nXOff, nYOff, std::int64_t{nXOff} + nXSize,
                              std::int64_t{nYOff} + nYSize};
    std::vector<std::uint32_t> anComps;
    anComps.reserve(static_cast<size_t>(nBandCount));
    for (int i = 0; i < nBandCount; ++i)
        anComps.push_back(static_cast<std::uint32_t>(panBandMap[i] - 1));
    std::sort(anComps.begin(), anComps.end());
    anComps.erase(std::unique(anComps.begin(), anComps.end()), anComps.end());
    if (static_cast<int>(anComps.size()) < nBands)
        oWin.comps = anComps;

    const auto oClientWin = m_poShared->ClientWindow(oWin);
    auto oFetched = m_poShared->poClient->fetch(
        m_poShared->bFetchWholeTiles ? m_poShared->TileAligned(oClientWin)
                                     : oClientWin,
        JPIP_PRIORITY_HIGH);
    if (!oFetched)
    {
        JPIPReportError(oFetched.error(), GetDescription());
        return CE_Failure;
    }
    auto oDecoded = m_poShared->Decode(oWin);
    if (!oDecoded)
    {
        JPIPReportError(oDecoded.error(), GetDescription());
        return CE_Failure;
    }
    for (int i = 0; i < nBandCount; ++i)
    {
        const auto nComp = static_cast<std::uint32_t>(panBandMap[i] - 1);
        const auto it = std::find_if(
            oDecoded->planes.begin(), oDecoded->planes.end(),
            [nComp](const auto &p) { return p.component == nComp; });
        if (it == oDecoded->planes.end())
        {
            CPLError(CE_Failure, CPLE_AppDefined,
                     "JPIP: component %u missing from the decoded window",
                     nComp);
            return CE_Failure;
        }
        JPIPCopyPlane(*it, static_cast<GByte *>(pData) + i * nBandSpace,
                      eBufType, nXSize, nYSize, nPixelSpace, nLineSpace);
    }
    return CE_None;
}

CPLErr JPIPDataset::IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff,
                              int nXSize, int nYSize, void *pData,
                              int nBufXSize, int nBufYSize,
                              GDALDataType eBufType, int nBandCount,
                              int *panBandMap, GSpacing nPixelSpace,
                              GSpacing nLineSpace, GSpacing nBandSpace,
                              GDALRasterIOExtraArg *psExtraArg)
{
    if (eRWFlag != GF_Read)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "JPIP: the driver is read-only");
        return CE_Failure;
    }
    if (IsExactWindow(nXOff, nYOff, nXSize, nYSize, nBufXSize, nBufYSize,
                      psExtraArg))
        return ReadWindow(nXOff, nYOff, nXSize, nYSize, pData, eBufType,
                          nBandCount, panBandMap, nPixelSpace, nLineSpace,
                          nBandSpace);
    // A down-sampled read goes to the overview GDAL would pick band by band
    // (GDALBandGetBestOverviewLevel2): when the overview window has the
    // buffer's size, every band is read there in one decode.
    if ((nBufXSize < nXSize || nBufYSize < nYSize) && nBandCount > 1)
    {
        GDALRasterIOExtraArg sExtraArg;
        INIT_RASTERIO_EXTRA_ARG(sExtraArg);
        if (psExtraArg != nullptr)
            sExtraArg = *psExtraArg;
        int nOvXOff = nXOff, nOvYOff = nYOff, nOvXSize = nXSize,
            nOvYSize = nYSize;
        const int iOvr = GDALBandGetBestOverviewLevel2(
            GetRasterBand(1), nOvXOff, nOvYOff, nOvXSize, nOvYSize, nBufXSize,
            nBufYSize, &sExtraArg);
        if (iOvr >= 0 && iOvr < static_cast<int>(m_apoOverviewDS.size()) &&
            IsExactWindow(nOvXOff, nOvYOff, nOvXSize, nOvYSize, nBufXSize,
                          nBufYSize, &sExtraArg))
            return m_apoOverviewDS[iOvr]->ReadWindow(
                nOvXOff, nOvYOff, nOvXSize, nOvYSize, pData, eBufType,
                nBandCount, panBandMap, nPixelSpace, nLineSpace, nBandSpace);
    }
    // Other down-sampled reads: GDAL's overview selection and resampling.
    return GDALPamDataset::IRasterIO(eRWFlag, nXOff, nYOff, nXSize, nYSize,
                                     pData, nBufXSize, nBufYSize, eBufType,
                                     nBandCount, panBandMap, nPixelSpace,
                                     nLineSpace, nBandSpace, psExtraArg);
}

/************************************************************************/
/*                         GDALRegister_JPIP()                          */
/************************************************************************/

extern "C" __attribute__((visibility("default"))) void GDALRegister_JPIP();

void GDALRegister_JPIP()
{
    if (!GDAL_CHECK_VERSION("JPIP driver"))
        return;
    if (GDALGetDriverByName("JPIP") != nullptr)
        return;
    auto *poDriver = new GDALDriver();
    poDriver->SetDescription("JPIP");
    poDriver->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
    poDriver->SetMetadataItem(GDAL_DMD_LONGNAME,
                              "JPEG 2000 Interactive Protocol (Pipit)");
    // The driver's page in Pipit's documentation.
    poDriver->SetMetadataItem(GDAL_DMD_HELPTOPIC, "docs/gdal-driver.md");
    poDriver->SetMetadataItem(GDAL_DMD_CONNECTION_PREFIX, "jpip://, jpips://");
    poDriver->SetMetadataItem(GDAL_DMD_SUBDATASETS, "YES");
    poDriver->SetMetadataItem(
        GDAL_DMD_OPENOPTIONLIST,
        "<OpenOptionList>"
        "  <Option name='CACHE_DIR' type='string' description='Folder of the "
        "persistent data-bin cache (config JPIP_CACHE_DIR)'/>"
        "  <Option name='TLS_VERIFY' type='boolean' default='YES' "
        "description='Verify the server certificate of jpips:// URLs'/>"
        "  <Option name='CA_FILE' type='string' description='PEM file of "
        "trusted certificates'/>"
        "  <Option name='INITIAL_LEN' type='int' default='2000' "
        "description='len of the session-opening request'/>"
        "  <Option name='MAX_LEN' type='int' default='8388608' "
        "description='Largest len of a request'/>"
        "  <Option name='USE_SESSION' type='boolean' default='YES' "
        "description='Ask for a session (else stateless requests)'/>"
        "  <Option name='RECONNECT_TIMEOUT' type='float' default='30' "
        "description='Seconds of failed reconnection before giving up'/>"
        "  <Option name='CACHE_MEMORY_LIMIT' type='int' default='0' "
        "description='Bytes of data-bins kept in memory (0: no limit)'/>"
        "  <Option name='NUM_THREADS' type='string' default='ALL_CPUS' "
        "description='Tiles decoded in parallel (a number or ALL_CPUS)'/>"
        "  <Option name='DECODED_CACHE' type='string' default='128MB' "
        "description='Bytes of decoded tiles kept for later reads (0: "
        "none; suffixes KB, MB, GB)'/>"
        "  <Option name='STREAM_TYPE' type='string-select' default='JPP' "
        "description='Ask for JPP-streams (precinct data-bins) or "
        "JPT-streams (tile data-bins, for servers that speak only those)'>"
        "    <Value>JPP</Value><Value>JPT</Value>"
        "  </Option>"
        "  <Option name='FETCH_WHOLE_TILES' type='boolean' default='NO' "
        "description='Synchronous reads fetch the whole tiles they meet (a "
        "pass over the image decodes each tile once)'/>"
        "  <Option name='STREAM' type='int' default='0' "
        "description='Codestream read, of a target of several (a JPX); "
        "the subdataset name JPIP:N:url says it too'/>"
        "</OpenOptionList>");
    poDriver->pfnIdentify = JPIPDataset::Identify;
    poDriver->pfnOpen = JPIPDataset::Open;
    GetGDALDriverManager()->RegisterDriver(poDriver);
}
