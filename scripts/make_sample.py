#!/usr/bin/python3
"""Writes a synthetic, georeferenced RGB GeoTIFF (no download): a shaded relief of sums of sines,
coloured by height, with a 1 km grid, in UTM zone 31N (EPSG:32631), 10 m pixels.

    /usr/bin/python3 scripts/make_sample.py OUT.tif [WIDTH HEIGHT]

scripts/quickstart.sh and docs/make_progressive_picture.sh turn it into a JP2 with gdal_translate.
"""
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
out = sys.argv[1]
width = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
height = int(sys.argv[3]) if len(sys.argv) > 3 else 1536

y, x = np.mgrid[0:height, 0:width].astype(np.float64)
u, v = x / width, y / height
z = (np.sin(u * 9.0 + np.cos(v * 5.0) * 2.0) + np.cos(v * 7.0 - u * 3.0) * 0.8
     + 0.35 * np.sin(u * 41.0) * np.cos(v * 37.0) + 0.12 * np.sin((u + v) * 131.0))
z = (z - z.min()) / (z.max() - z.min())
# Hill shading from the north-west.
gy, gx = np.gradient(z * 60.0)
shade = np.clip(0.55 + (-gx + gy) * 0.9, 0.15, 1.0)
# Colour ramp: water, lowland, hills, rock, snow.
stops = np.array([0.0, 0.3, 0.45, 0.7, 0.88, 1.0])
colours = np.array([[30, 70, 150], [70, 140, 200], [90, 160, 80], [170, 150, 90],
                    [130, 110, 100], [250, 250, 250]], dtype=np.float64)
rgb = np.stack([np.interp(z, stops, colours[:, c]) for c in range(3)], axis=0) * shade
# A grid line every 100 pixels (1 km).
grid = (x % 100 < 2) | (y % 100 < 2)
rgb[:, grid] = rgb[:, grid] * 0.4
rgb = np.clip(rgb, 0, 255).astype(np.uint8)

ds = gdal.GetDriverByName("GTiff").Create(out, width, height, 3, gdal.GDT_Byte)
ds.SetGeoTransform((430000.0, 10.0, 0.0, 4830000.0, 0.0, -10.0))
srs = osr.SpatialReference()
srs.ImportFromEPSG(32631)
ds.SetProjection(srs.ExportToWkt())
for b in range(3):
    band = ds.GetRasterBand(b + 1)
    band.WriteArray(rgb[b])
    band.SetColorInterpretation((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)[b])
ds = None
