/******************************************************************************
 * Project:  Pipit
 * Purpose:  JPIPAsyncReader: progressive reads (BeginAsyncReader).
 *
 * The reader queues one view-window with the client. Options:
 *   LEVEL     levels to discard from full resolution; default: the coarsest
 *             level whose window still has the buffer's size;
 *   LAYERS    quality layers, default all;
 *   PRIORITY  0 low, 1 high (the default, as in JPIPKAK); a higher value is
 *             served first.
 * GetNextUpdatedRegion() waits for new data, decodes the window from the
 * cache and fills the whole buffer: GARIO_UPDATE while data is still coming,
 * GARIO_COMPLETE once the window is complete.
 ****************************************************************************/
#include <algorithm>
#include <chrono>
#include <cmath>

#include "cpl_string.h"
#include "jpipdataset.h"

class JPIPAsyncReader final : public GDALAsyncReader
{
    std::shared_ptr<JPIPShared> m_poShared{};
    std::shared_ptr<pipit::client::window_handle> m_poHandle{};
    pipit::client::window m_oWindow{};
    std::uint64_t m_nSeenGeneration = 0;
    bool m_bComplete = false;
    bool m_bFailed = false;
    std::vector<int> m_anBandMap{};

  public:
    JPIPAsyncReader(JPIPDataset *poDSIn, int nXOffIn, int nYOffIn, int nXSizeIn,
                    int nYSizeIn, void *pBufIn, int nBufXSizeIn,
                    int nBufYSizeIn, GDALDataType eBufTypeIn, int nBandCountIn,
                    const int *panBandMapIn, int nPixelSpaceIn,
                    int nLineSpaceIn, int nBandSpaceIn,
                    CSLConstList papszOptions);
    ~JPIPAsyncReader() override;

    bool Start(CSLConstList papszOptions, int nDatasetLevel);

    GDALAsyncStatusType GetNextUpdatedRegion(double dfTimeout, int *pnBufXOff,
                                             int *pnBufYOff, int *pnBufXSize,
                                             int *pnBufYSize) override;
};

JPIPAsyncReader::JPIPAsyncReader(JPIPDataset *poDSIn, int nXOffIn, int nYOffIn,
                                 int nXSizeIn, int nYSizeIn, void *pBufIn,
                                 int nBufXSizeIn, int nBufYSizeIn,
                                 GDALDataType eBufTypeIn, int nBandCountIn,
                                 const int *panBandMapIn, int nPixelSpaceIn,
                                 int nLineSpaceIn, int nBandSpaceIn,
                                 CSLConstList /* papszOptions */)
{
    poDS = poDSIn;
    m_poShared = poDSIn->m_poShared;
    nXOff = nXOffIn;
    nYOff = nYOffIn;
    nXSize = nXSizeIn;
    nYSize = nYSizeIn;
    pBuf = pBufIn;
    nBufXSize = nBufXSizeIn;
    nBufYSize = nBufYSizeIn;
    eBufType = eBufTypeIn;
    nBandCount = nBandCountIn;
    for (int i = 0; i < nBandCountIn; ++i)
        m_anBandMap.push_back(panBandMapIn != nullptr ? panBandMapIn[i]
                                                      : i + 1);
    panBandMap = m_anBandMap.data();
    const int nDTSize = GDALGetDataTypeSizeBytes(eBufTypeIn);
    nPixelSpace = nPixelSpaceIn != 0 ? nPixelSpaceIn : nDTSize;
    nLineSpace = nLineSpaceIn != 0 ? nLineSpaceIn : nPixelSpace * nBufXSizeIn;
    nBandSpace = nBandSpaceIn != 0 ? nBandSpaceIn : nLineSpace * nBufYSizeIn;
}

JPIPAsyncReader::~JPIPAsyncReader()
{
    if (m_poHandle)
        m_poHandle->cancel();
    // GDALAsyncReader's destructor does not own panBandMap here.
    panBandMap = nullptr;
}

// The window [nXOff, nXOff + nXSize) of the dataset (at nDatasetLevel) on
// the frame at nLevel: its first column and its end, alike in y.
static void WindowAtLevel(const pipit::client::image_info &oInfo,
                          int nDatasetLevel, int nLevel, int nOff, int nSize,
                          bool bX, std::uint64_t &nStart, std::uint64_t &nEnd)
{
    const auto nFrame =
        bX ? oInfo.width_at(static_cast<std::uint32_t>(nLevel))
           : oInfo.height_at(static_cast<std::uint32_t>(nLevel));
    const auto nShift = static_cast<unsigned>(nLevel - nDatasetLevel);
    nStart = static_cast<std::uint64_t>(nOff) >> nShift;
    nEnd = std::min<std::uint64_t>(
        nFrame, static_cast<std::uint64_t>(
                    pipit::ceil_div_pow2(std::int64_t{nOff} + nSize, nShift)));
    if (nEnd <= nStart)
        nEnd = nStart + 1;
}

bool JPIPAsyncReader::Start(CSLConstList papszOptions, int nDatasetLevel)
{
    const auto &oInfo = m_poShared->Info();
    const int nLevels = static_cast<int>(oInfo.levels());
    // Level: absolute discard levels (LEVEL), else the coarsest level at
    // which the window still has at least the buffer's size. Frames are
    // ceil(size / 2^r), so a buffer of an overview's size reads that
    // overview.
    int nLevel = nDatasetLevel;
    if (const char *pszLevel = CSLFetchNameValue(papszOptions, "LEVEL"))
        nLevel = std::max(nDatasetLevel, atoi(pszLevel));
    else
    {
        while (nLevel < nLevels)
        {
            std::uint64_t nX0, nX1, nY0, nY1;
            WindowAtLevel(oInfo, nDatasetLevel, nLevel + 1, nXOff, nXSize, true,
                          nX0, nX1);
            WindowAtLevel(oInfo, nDatasetLevel, nLevel + 1, nYOff, nYSize,
                          false, nY0, nY1);
            if (nX1 - nX0 < static_cast<std::uint64_t>(nBufXSize) ||
                nY1 - nY0 < static_cast<std::uint64_t>(nBufYSize))
                break;
            ++nLevel;
        }
    }
    nLevel = std::min(nLevel, nLevels);
    std::uint64_t nX0, nX1, nY0, nY1;
    WindowAtLevel(oInfo, nDatasetLevel, nLevel, nXOff, nXSize, true, nX0, nX1);
    WindowAtLevel(oInfo, nDatasetLevel, nLevel, nYOff, nYSize, false, nY0, nY1);
    m_oWindow.discard_levels = static_cast<std::uint32_t>(nLevel);
    m_oWindow.region = pipit::rect{
        static_cast<std::int64_t>(nX0), static_cast<std::int64_t>(nY0),
        static_cast<std::int64_t>(nX1), static_cast<std::int64_t>(nY1)};
    if (const char *pszLayers = CSLFetchNameValue(papszOptions, "LAYERS"))
        m_oWindow.layers =
            static_cast<std::uint32_t>(std::max(0, atoi(pszLayers)));
    std::vector<std::uint32_t> anComps;
    for (int b : m_anBandMap)
    {
        if (b < 1 || b > static_cast<int>(oInfo.num_components()))
        {
            CPLError(CE_Failure, CPLE_IllegalArg, "JPIP: no band %d", b);
            return false;
        }
        anComps.push_back(static_cast<std::uint32_t>(b - 1));
    }
    std::sort(anComps.begin(), anComps.end());
    anComps.erase(std::unique(anComps.begin(), anComps.end()), anComps.end());
    if (anComps.size() < oInfo.num_components())
        m_oWindow.comps = anComps;
    // PRIORITY as JPIPKAK reads it: 0 is low, absent is high (1); other
    // numbers order windows further (a higher value is served first).
    const int nPriority = atoi(CSLFetchNameValueDef(
        papszOptions, "PRIORITY", CPLSPrintf("%d", JPIP_PRIORITY_HIGH)));
    m_poHandle = m_poShared->poClient->request(
        m_poShared->ClientWindow(m_oWindow), nPriority);
    return true;
}

GDALAsyncStatusType JPIPAsyncReader::GetNextUpdatedRegion(double dfTimeout,
                                                          int *pnBufXOff,
                                                          int *pnBufYOff,
                                                          int *pnBufXSize,
                                                          int *pnBufYSize)
{
    *pnBufXOff = 0;
    *pnBufYOff = 0;
    *pnBufXSize = 0;
    *pnBufYSize = 0;
    if (m_bFailed)
        return GARIO_ERROR;
    if (m_bComplete)
        return GARIO_COMPLETE;
    const auto nTimeout = std::chrono::milliseconds(
        dfTimeout < 0 ? 24LL * 3600 * 1000
                      : static_cast<long long>(std::ceil(dfTimeout * 1000)));
    const auto oStatus = m_poHandle->wait(m_nSeenGeneration, nTimeout);
    if (oStatus.state == pipit::client::window_state::failed ||
        oStatus.state == pipit::client::window_state::cancelled)
    {
        m_bFailed = true;
        if (oStatus.state == pipit::client::window_state::failed)
            JPIPReportError(oStatus.failure, poDS->GetDescription());
        else
            CPLError(CE_Failure, CPLE_UserInterrupt, "JPIP: read cancelled");
        return GARIO_ERROR;
    }
    if (oStatus.generation == m_nSeenGeneration &&
        oStatus.state == pipit::client::window_state::pending)
        return GARIO_PENDING;
    m_nSeenGeneration = oStatus.generation;

    auto oDecoded = m_poShared->Decode(m_oWindow);
    if (!oDecoded)
    {
        m_bFailed = true;
        JPIPReportError(oDecoded.error(), poDS->GetDescription());
        return GARIO_ERROR;
    }
    for (int i = 0; i < nBandCount; ++i)
    {
        const auto nComp = static_cast<std::uint32_t>(m_anBandMap[i] - 1);
        for (const auto &oPlane : oDecoded->planes)
        {
            if (oPlane.component == nComp)
            {
                JPIPCopyPlane(oPlane,
                              static_cast<GByte *>(pBuf) +
                                  static_cast<GSpacing>(i) * nBandSpace,
                              eBufType, nBufXSize, nBufYSize, nPixelSpace,
                              nLineSpace);
                break;
            }
        }
    }
    *pnBufXSize = nBufXSize;
    *pnBufYSize = nBufYSize;
    if (oStatus.state == pipit::client::window_state::complete)
    {
        m_bComplete = true;
        return GARIO_COMPLETE;
    }
    return GARIO_UPDATE;
}

GDALAsyncReader *JPIPDataset::BeginAsyncReader(
    int nXOff, int nYOff, int nXSize, int nYSize, void *pBuf, int nBufXSize,
    int nBufYSize, GDALDataType eBufType, int nBandCount, int *panBandMap,
    int nPixelSpace, int nLineSpace, int nBandSpace, char **papszOptions)
{
    if (nXOff < 0 || nYOff < 0 || nXSize < 1 || nYSize < 1 ||
        nXOff + nXSize > nRasterXSize || nYOff + nYSize > nRasterYSize ||
        nBufXSize < 1 || nBufYSize < 1 || pBuf == nullptr)
    {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "JPIP: BeginAsyncReader: bad window or buffer");
        return nullptr;
    }
    auto poReader = std::make_unique<JPIPAsyncReader>(
        this, nXOff, nYOff, nXSize, nYSize, pBuf, nBufXSize, nBufYSize,
        eBufType, nBandCount, panBandMap, nPixelSpace, nLineSpace, nBandSpace,
        papszOptions);
    if (!poReader->Start(papszOptions, m_nLevel))
        return nullptr;
    return poReader.release();
}

void JPIPDataset::EndAsyncReader(GDALAsyncReader *poReader)
{
    delete poReader;
}
