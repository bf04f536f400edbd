/******************************************************************************
 * Project:  Pipit
 * Purpose:  GDAL driver for JPEG 2000 images served over JPIP (ISO/IEC
 *15444-9), built on the Pipit client (libcurl + OpenJPEG).
 *
 * A JPIPDataset is a view of the remote image at one resolution level: the
 * full-resolution dataset owns one overview dataset per discardable level,
 * and all of them share one pipit client (one session, one data-bin cache).
 ****************************************************************************/
#ifndef JPIPDATASET_H_INCLUDED
#define JPIPDATASET_H_INCLUDED

#include <memory>
#include <vector>

#include "cpl_string.h"
#include "gdal_pam.h"
#include "ogr_spatialref.h"
#include "jpipgdaltypes.h"
#include "pipit/client.hpp"

struct JPIPShared
{
    std::unique_ptr<pipit::client::jpip_client> poClient;
    // The client's model of the image (not a copy).
    const pipit::client::image_info &Info() const { return poClient->info(); }
    // A 4:2:0 image (pipit::client::is_ycbcr420), read as RGB(A) bands.
    bool bIs420 = false;
    // Read once at open, for the full-resolution dataset.
    JPIPGeoref oGeoref{};
    // FETCH_WHOLE_TILES: synchronous reads fetch every tile they meet whole.
    bool bFetchWholeTiles = false;

    // The window the client fetches and decodes for the bands' window oWin:
    // oWin itself, or for a 4:2:0 image every component from an even corner.
    pipit::client::window ClientWindow(const pipit::client::window &oWin) const;
    // oWin grown to the tiles it meets, when the image has several tiles of
    // at most 4096 samples at oWin's level (the client then decodes whole
    // tiles, so a tile fetched whole is decoded once for every later window
    // in it); else oWin.
    pipit::client::window TileAligned(const pipit::client::window &oWin) const;
    // The samples of oWin's bands (planes of component = band - 1).
    pipit::result<pipit::client::decoded_window> Decode(
        const pipit::client::window &oWin) const;
};

class JPIPAsyncReader;

// Priorities of the client's windows: an asynchronous read without PRIORITY
// is high, as in JPIPKAK; synchronous reads are high too.
constexpr int JPIP_PRIORITY_LOW = 0;
constexpr int JPIP_PRIORITY_HIGH = 1;

class JPIPDataset final : public GDALPamDataset
{
    friend class JPIPRasterBand;
    friend class JPIPAsyncReader;

    std::shared_ptr<JPIPShared> m_poShared{};
    int m_nLevel = 0; // discarded resolution levels
    std::vector<std::unique_ptr<JPIPDataset>> m_apoOverviewDS{};

    CPLStringList m_aosJPIPMetadata{}; // what GetMetadata("JPIP") returned

    void SetGeorefMetadata();
    void SetBandColorInterpretations();

  public:
    JPIPDataset() = default;
    ~JPIPDataset() override;

    static int Identify(GDALOpenInfo *poOpenInfo);
    static GDALDataset *Open(GDALOpenInfo *poOpenInfo);

    CPLErr GetGeoTransform(double *padfTransform) override;
    const OGRSpatialReference *GetSpatialRef() const override;
    // Domain "JPIP" also holds the live JPIP_STAT_* statistics (the table
    // asJPIPStats in jpipdataset.cpp; listed by GetMetadata("JPIP") too).
    const char *GetMetadataItem(const char *pszName,
                                const char *pszDomain = "") override;
    char **GetMetadata(const char *pszDomain = "") override;
    int GetGCPCount() override;
    const OGRSpatialReference *GetGCPSpatialRef() const override;
    const GDAL_GCP *GetGCPs() override;

    CPLErr IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff, int nXSize,
                     int nYSize, void *pData, int nBufXSize, int nBufYSize,
                     GDALDataType eBufType, int nBandCount, int *panBandMap,
                     GSpacing nPixelSpace, GSpacing nLineSpace,
                     GSpacing nBandSpace,
                     GDALRasterIOExtraArg *psExtraArg) override;

    GDALAsyncReader *BeginAsyncReader(int nXOff, int nYOff, int nXSize,
                                      int nYSize, void *pBuf, int nBufXSize,
                                      int nBufYSize, GDALDataType eBufType,
                                      int nBandCount, int *panBandMap,
                                      int nPixelSpace, int nLineSpace,
                                      int nBandSpace,
                                      char **papszOptions) override;
    void EndAsyncReader(GDALAsyncReader *poReader) override;

    // Fetches the window (level m_nLevel, in this dataset's pixels) and
    // writes the requested bands into pData, waiting until it is complete.
    CPLErr ReadWindow(int nXOff, int nYOff, int nXSize, int nYSize, void *pData,
                      GDALDataType eBufType, int nBandCount,
                      const int *panBandMap, GSpacing nPixelSpace,
                      GSpacing nLineSpace, GSpacing nBandSpace);
};

class JPIPRasterBand final : public GDALPamRasterBand
{
    friend class JPIPDataset;
    GDALColorInterp m_eColorInterp = GCI_Undefined;

  public:
    JPIPRasterBand(JPIPDataset *poDS, int nBand, GDALDataType eDT);

    CPLErr IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage) override;
    CPLErr IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff, int nXSize,
                     int nYSize, void *pData, int nBufXSize, int nBufYSize,
                     GDALDataType eBufType, GSpacing nPixelSpace,
                     GSpacing nLineSpace,
                     GDALRasterIOExtraArg *psExtraArg) override;
    GDALColorInterp GetColorInterpretation() override;
    int GetOverviewCount() override;
    GDALRasterBand *GetOverview(int iOverview) override;
};

// Copies decoded planes (window of nSrcW x nSrcH samples) into a GDAL buffer
// of nBufXSize x nBufYSize, nearest-neighbour when the sizes differ.
void JPIPCopyPlane(const pipit::client::decoded_window::plane &oPlane,
                   void *pDst, GDALDataType eBufType, int nBufXSize,
                   int nBufYSize, GSpacing nPixelSpace, GSpacing nLineSpace);

// The JPIP error as a CPLError.
void JPIPReportError(const pipit::error &oError, const char *pszContext);

#endif
