// The GDAL part of `pipit get` (get_output.hpp): GeoTIFF and PNG outputs with the georeferencing
// of the JP2 boxes, and GDAL's progress bar. Built as the module pipit_gdal_output.so.
#include <cpl_progress.h>
#include <gdal_priv.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "get_output.hpp"
#include "jpipgdaltypes.h"

namespace pipit::tools {
namespace {

// Writes the decoded planes with GDAL; returns 0, 1 (write failed) or 2 (format cannot hold it).
int write_gdal(const get_options& o, out_format fmt, const client::image_info& info, const plan& p,
               const client::decoded_window& d) {
  const auto& first = d.planes.front();
  for (const auto& pl : d.planes)
    if (pl.width != first.width || pl.height != first.height) {
      std::fprintf(stderr,
                   "pipit get: the components have different sizes (sub-sampled); "
                   "choose them one at a time with --bands\n");
      return 2;
    }
  // The JPIP driver's type and colours (jpipgdaltypes.h): one model of the image for both.
  const GDALDataType dt = JPIPDataType(info);
  if (fmt == out_format::png && dt != GDT_Byte && dt != GDT_UInt16) {
    std::fprintf(stderr,
                 "pipit get: PNG holds 8- and 16-bit unsigned samples only (these are %s): "
                 "write a .tif\n",
                 GDALGetDataTypeName(dt));
    return 2;
  }
  // GDAL's sizes are ints.
  const int nb = static_cast<int>(d.planes.size());
  const int w = static_cast<int>(first.width), h = static_cast<int>(first.height);
  const int ow = static_cast<int>(p.out_w), oh = static_cast<int>(p.out_h);
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  std::unique_ptr<GDALDataset> src(mem->Create("", w, h, nb, GDT_Int32, nullptr));
  for (int b = 0; b < nb; ++b) {
    if (src->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, w, h,
                                            const_cast<std::int32_t*>(d.planes[b].samples.data()),
                                            w, h, GDT_Int32, 0, 0, nullptr) != CE_None)
      return 1;
  }
  // The output dataset, in the output type, at the output size (resampled when --size asks).
  std::unique_ptr<GDALDataset> out(mem->Create("", ow, oh, nb, dt, nullptr));
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = GRIORA_Bilinear;
  const std::size_t px = GDALGetDataTypeSizeBytes(dt);
  std::vector<GByte> buf(std::size_t{p.out_w} * p.out_h * px);
  for (int b = 0; b < nb; ++b) {
    if (src->GetRasterBand(b + 1)->RasterIO(GF_Read, 0, 0, w, h, buf.data(), ow, oh, dt, 0, 0,
                                            &extra) != CE_None ||
        out->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, ow, oh, buf.data(), ow, oh, dt, 0, 0,
                                            nullptr) != CE_None)
      return 1;
  }
  src.reset();
  const std::vector<GDALColorInterp> colours = JPIPBandColorInterps(info);
  for (int b = 0; b < nb; ++b) {
    const std::uint32_t c = d.planes[b].component;
    if (c < colours.size()) out->GetRasterBand(b + 1)->SetColorInterpretation(colours[c]);
  }
  // The JPIP driver's georeferencing (jpipgdaltypes.h), moved to the window and the level.
  JPIPGeoref g;
  g.Read(info);
  const double* t = g.adfGeoTransform;
  if (g.bHaveGeoTransform) {
    const double X = p.full_x, Y = p.full_y;
    double gt[6] = {t[0] + X * t[1] + Y * t[2], t[1] * p.scale_x, t[2] * p.scale_y,
                    t[3] + X * t[4] + Y * t[5], t[4] * p.scale_x, t[5] * p.scale_y};
    out->SetGeoTransform(gt);
    if (!g.oSRS.IsEmpty()) out->SetSpatialRef(&g.oSRS);
  } else if (g.nGCPCount > 0) {
    std::vector<GDAL_GCP> gcps(g.pasGCPs, g.pasGCPs + g.nGCPCount);
    for (auto& c : gcps) {
      c.dfGCPPixel = (c.dfGCPPixel - p.full_x) / p.scale_x;
      c.dfGCPLine = (c.dfGCPLine - p.full_y) / p.scale_y;
    }
    out->SetGCPs(g.nGCPCount, gcps.data(), g.oSRS.IsEmpty() ? nullptr : &g.oSRS);
  }
  if (g.bPixelIsPoint) out->SetMetadataItem(GDALMD_AREA_OR_POINT, GDALMD_AOP_POINT);

  const char* driver_name = fmt == out_format::gtiff ? "GTiff" : "PNG";
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName(driver_name);
  if (drv == nullptr) {
    std::fprintf(stderr, "pipit get: GDAL has no %s driver\n", driver_name);
    return 1;
  }
  CPLStringList co;
  if (fmt == out_format::gtiff) {
    co.SetNameValue("COMPRESS", "DEFLATE");
    if (p.out_w >= 512 && p.out_h >= 512) co.SetNameValue("TILED", "YES");
  }
  CPLErrorReset();
  GDALDataset* written =
      drv->CreateCopy(o.out.c_str(), out.get(), FALSE, co.List(), nullptr, nullptr);
  const bool ok = written != nullptr;
  if (written != nullptr) GDALClose(written);  // flushes; errors land in CPLGetLastErrorType
  if (!ok || CPLGetLastErrorType() >= CE_Failure) {
    std::fprintf(stderr, "pipit get: cannot write %s: %s\n", o.out.c_str(), CPLGetLastErrorMsg());
    VSIUnlink(o.out.c_str());
    return 1;
  }
  return 0;
}

void init(out_format fmt) {
  GDALAllRegister();
  if (fmt != out_format::pgx)
    CPLSetConfigOption("GDAL_PAM_ENABLED", fmt == out_format::png ? "YES" : "NO");
}

void progress(double done) { GDALTermProgress(done, nullptr, nullptr); }

const gdal_output_api api{init, write_gdal, progress};

}  // namespace
}  // namespace pipit::tools

extern "C" __attribute__((visibility("default"))) const pipit::tools::gdal_output_api*
pipit_gdal_output_api() {
  return &pipit::tools::api;
}
