"""Georeferencing through JPIP equals JP2OpenJPEG's on the local file, read from the boxes the
core's box reader finds (GeoJP2 uuid boxes, GMLJP2 asoc 'gml.data' boxes, top-level xml boxes):
the geotransform, the SRS, GCPs, pixel-is-point and the xml:* metadata domains, through the
driver and `pipit get`; `pipit info` lists the georeferencing boxes with their offsets."""
from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import PIPIT_BIN, Server, gdal

GEOJP2_UUID = bytes.fromhex("b14bf8bd083d4b43a5ae8cd7d5a6ce03")

# name -> (gdal_translate creation options, extra gdal_translate arguments)
FILES = {
    "geojp2_only.jp2": (["GeoJP2=YES", "GMLJP2=NO"], {}),
    "gmljp2_only.jp2": (["GeoJP2=NO", "GMLJP2=YES"], {}),
    "both_v1.jp2": (["GeoJP2=YES", "GMLJP2=YES"], {}),
    "both_v2.jp2": (["GeoJP2=YES", "GMLJP2V2_DEF=YES"], {}),
    "gcps.jp2": (["GeoJP2=YES", "GMLJP2=NO"],
                 {"GCPs": None, "outputSRS": "EPSG:4326"}),
    "point.jp2": (["GeoJP2=YES", "GMLJP2=NO"], {"metadataOptions": ["AREA_OR_POINT=Point"]}),
}


def make_files(out: Path) -> None:
    from osgeo import gdal as g, osr
    g.UseExceptions()
    tif = out / "src.tif"
    ds = g.GetDriverByName("GTiff").Create(str(tif), 96, 64, 3, g.GDT_Byte)
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    ds.SetProjection(srs.ExportToWkt())
    y, x = np.mgrid[0:64, 0:96]
    for b in range(3):
        ds.GetRasterBand(b + 1).WriteArray(((x * (b + 2) + y * 3) % 251).astype(np.uint8))
    ds = None
    for name, (co, extra) in FILES.items():
        kw = dict(extra)
        if "GCPs" in kw:
            kw["GCPs"] = [g.GCP(2.0, 49.0, 0, 0, 0), g.GCP(2.1, 49.0, 0, 96, 0),
                          g.GCP(2.0, 48.9, 0, 0, 64), g.GCP(2.1, 48.9, 0, 96, 64)]
        g.Translate(str(out / name), str(tif), format="JP2OpenJPEG", creationOptions=co, **kw)
    tif.unlink()


@pytest.fixture(scope="module")
def georef_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("georef")
    make_files(d)
    return d


@pytest.fixture(scope="module")
def georef_server(georef_dir, pipit_bin):
    s = Server(georef_dir).start()
    yield s
    s.stop()


def georef(ds) -> dict:
    srs = ds.GetSpatialRef()
    gcp_srs = ds.GetGCPSpatialRef()
    domains = sorted(d for d in (ds.GetMetadataDomainList() or []) if d.startswith("xml:"))
    return {
        "geotransform": ds.GetGeoTransform(can_return_null=True),
        "srs": srs.ExportToWkt() if srs is not None else None,
        "gcps": [(p.GCPPixel, p.GCPLine, p.GCPX, p.GCPY, p.GCPZ) for p in ds.GetGCPs()],
        "gcp_srs": gcp_srs.ExportToWkt() if gcp_srs is not None else None,
        "area_or_point": ds.GetMetadataItem("AREA_OR_POINT"),
        "xml": {d: ds.GetMetadata(d) for d in domains},
    }


@pytest.mark.parametrize("name", sorted(FILES))
def test_georef_and_xml_domains_equal_jp2openjpeg(georef_server, georef_dir, name):
    g = gdal()
    local = g.OpenEx(str(georef_dir / name), allowed_drivers=["JP2OpenJPEG"])
    ds = g.OpenEx(georef_server.url(name), allowed_drivers=["JPIP"])
    want = georef(local)
    assert want["geotransform"] is not None or want["gcps"], "the oracle has no georeferencing"
    assert georef(ds) == want


@pytest.mark.parametrize("name", sorted(FILES))
def test_get_geotiff_georef_equals_jp2openjpeg(georef_server, georef_dir, tmp_path, name):
    g = gdal()
    out = tmp_path / "out.tif"
    p = subprocess.run([str(PIPIT_BIN), "get", georef_server.url(name), "-o", str(out), "-q"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    local = g.OpenEx(str(georef_dir / name), allowed_drivers=["JP2OpenJPEG"])
    got = g.Open(str(out))
    a, b = georef(got), georef(local)
    for key in ("geotransform", "srs", "gcps"):
        assert a[key] == b[key], key
    if b["gcps"]:
        assert a["gcp_srs"] == b["gcp_srs"]
    # A GeoTIFF says Area when nothing says Point.
    assert (a["area_or_point"] or "Area") == (b["area_or_point"] or "Area")
    assert np.array_equal(got.ReadAsArray(), local.ReadAsArray())


def georef_boxes(data: bytes) -> dict:
    """The GeoJP2 uuid boxes, the xml boxes of the asoc labelled 'gml.data' and the top-level xml
    boxes, walked here from the bytes: {kind: [(box offset, payload offset, payload length)]}."""
    def boxes(start, end):
        at = start
        while at < end:
            lbox, tbox = struct.unpack(">I4s", data[at:at + 8])
            head = 8
            if lbox == 1:
                lbox, head = struct.unpack(">Q", data[at + 8:at + 16])[0], 16
            elif lbox == 0:
                lbox = end - at
            yield at, tbox, at + head, at + lbox
            at += lbox
    out = {"geojp2": [], "gml": [], "xml": []}
    for off, kind, body, end in boxes(0, len(data)):
        if kind == b"uuid" and data[body:body + 16] == GEOJP2_UUID:
            out["geojp2"].append((off, body + 16, end - body - 16))
        elif kind == b"xml ":
            out["xml"].append((off, body, end - body))
        elif kind == b"asoc":
            kids = list(boxes(body, end))
            if kids and kids[0][1] == b"lbl " and \
                    data[kids[0][2]:kids[0][3]].rstrip(b"\0").lower() == b"gml.data":
                for _, k, kb, ke in kids[1:]:
                    if k != b"asoc":
                        continue
                    label = None
                    for xoff, xk, xb, xe in boxes(kb, ke):
                        if xk == b"lbl ":
                            label = data[xb:xe].rstrip(b"\0").decode()
                        elif xk == b"xml ":
                            out["gml"].append((xoff, xb, xe - xb, label))
    return out


@pytest.mark.parametrize("name", sorted(FILES))
def test_info_lists_the_georef_boxes(georef_dir, name):
    path = georef_dir / name
    p = subprocess.run([str(PIPIT_BIN), "info", "--json", str(path)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    want = georef_boxes(path.read_bytes())
    geo = j["georef"]
    assert [(b["box_offset"], b["offset"], b["length"]) for b in geo["geojp2"]] == want["geojp2"]
    assert [(b["box_offset"], b["offset"], b["length"], b["label"]) for b in geo["gmljp2"]] == \
        want["gml"]
    assert [(b["box_offset"], b["offset"], b["length"]) for b in geo["xml"]] == want["xml"]
    assert j["geojp2"] == bool(want["geojp2"]) and j["gmljp2"] == bool(want["gml"])
    text = subprocess.run([str(PIPIT_BIN), "info", str(path)], capture_output=True, text=True,
                          timeout=60).stdout
    for off, _, length in want["geojp2"]:
        assert f"GeoJP2 uuid box @{off} ({length} bytes of GeoTIFF)" in text
    for off, _, length, label in want["gml"]:
        assert f"GMLJP2 xml box @{off} '{label}' ({length} bytes)" in text
