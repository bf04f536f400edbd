// JPX files of several codestreams: contiguous codestream boxes, fragment tables in the file, and
// linked codestreams in other files (ftbl, flst, dtbl, url boxes; 15444-2 M.11.3, M.11.6).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "codestream_test_util.hpp"
#include "pipit/boxes.hpp"
#include "pipit/databins.hpp"
#include "pipit/image_index.hpp"

using namespace pipit;
using pipit::testing::read_file;
using pipit::testing::vector_path;

namespace {

using bytes = std::vector<std::uint8_t>;

void put_be(bytes& out, std::uint64_t v, int n) {
  for (int s = 8 * (n - 1); s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

bytes make_box(const char (&type)[5], const bytes& content) {
  bytes out;
  put_be(out, content.size() + 8, 4);
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Signature, ftyp (jpx), jp2h (ihdr, colr) for a 1-component 8-bit image.
bytes jpx_head() {
  return cat(
      {make_box("jP  ", {0x0D, 0x0A, 0x87, 0x0A}),
       make_box("ftyp", {'j', 'p', 'x', ' ', 0, 0, 0, 0, 'j', 'p', 'x', ' ', 'j', 'p', '2', ' '}),
       make_box("jp2h", cat({make_box("ihdr", {0, 0, 0, 128, 0, 0, 0, 128, 0, 1, 7, 7, 0, 0}),
                             make_box("colr", {1, 0, 0, 0, 0, 0, 17})}))});
}

struct fragment {
  std::uint64_t off, len;
  std::uint16_t dr;
};
bytes ftbl(std::initializer_list<fragment> fs) {
  bytes flst;
  put_be(flst, fs.size(), 2);
  for (const auto& f : fs) {
    put_be(flst, f.off, 8);
    put_be(flst, f.len, 4);
    put_be(flst, f.dr, 2);
  }
  return make_box("ftbl", make_box("flst", flst));
}

bytes url(const std::string& loc) {
  bytes c{0, 0, 0, 0};
  c.insert(c.end(), loc.begin(), loc.end());
  c.push_back(0);
  return make_box("url ", c);
}

bytes dtbl(std::initializer_list<bytes> urls) {
  bytes c;
  put_be(c, urls.size(), 2);
  for (const auto& u : urls) c.insert(c.end(), u.begin(), u.end());
  return make_box("dtbl", c);
}

// Codestream c of `ix` is served exactly as the codestream of `alone` (its own file) is: the
// same header bins and the same bytes in every precinct bin.
void expect_same_bins(const image_index& ix, bytes_view file, std::uint32_t c, const bytes& alone) {
  auto own = image_index::build(alone);
  ASSERT_TRUE(own) << own.error().to_string();
  const databin_source a(file, ix), b(alone, *own);
  EXPECT_EQ(a.main_header(c), b.main_header(0));
  const codestream_index& cs = ix.codestreams[c];
  for (std::uint32_t t = 0; t < cs.tiles.size(); ++t) {
    EXPECT_EQ(a.tile_header(c, t), b.tile_header(0, t));
    for (std::uint32_t s = 0; s < cs.tiles[t].num_slots; ++s) {
      const std::uint64_t id = a.precinct_id(c, t, s);
      bytes x, y;
      a.copy(bin_id{bin_kind::precinct, c, id}, 0, ~std::uint64_t{0}, x);
      b.copy(bin_id{bin_kind::precinct, 0, id}, 0, ~std::uint64_t{0}, y);
      ASSERT_EQ(x, y) << "codestream " << c << ", precinct bin " << id;
    }
  }
}

// The CSID of every codestream placeholder of metadata-bin 0, and whether a dtbl is left.
std::vector<std::uint64_t> placeholders(const bytes& m0, bool* has_dtbl = nullptr) {
  auto boxes = read_boxes(m0, byte_range{0, m0.size()});
  EXPECT_TRUE(boxes) << boxes.error().to_string();
  std::vector<std::uint64_t> out;
  if (has_dtbl) *has_dtbl = false;
  for (const auto& b : *boxes) {
    if (b.type == box_type("dtbl") && has_dtbl) *has_dtbl = true;
    if (b.type != box_type("phld")) continue;
    std::uint64_t csid = 0;
    for (std::size_t i = b.end() - 8; i < b.end(); ++i) csid = (csid << 8) | m0[i];
    out.push_back(csid);
  }
  return out;
}

}  // namespace

TEST(Jpx, ContiguousCodestreamsAreIndexedInFileOrder) {
  const bytes g = read_file(vector_path("g_plt.j2k")), r = read_file(vector_path("rgb_t.j2k"));
  const bytes f = cat({jpx_head(), make_box("jp2c", g), make_box("jp2c", r), make_box("jp2c", g)});
  auto ix = image_index::build(f);
  ASSERT_TRUE(ix) << ix.error().to_string();
  ASSERT_EQ(ix->codestreams.size(), 3u);
  EXPECT_EQ(ix->codestreams[1].siz.Xsiz, 512u);
  EXPECT_EQ(ix->codestreams[0].siz.Xsiz, ix->codestreams[2].siz.Xsiz);
  expect_same_bins(*ix, f, 1, r);
  expect_same_bins(*ix, f, 2, g);
  EXPECT_EQ(placeholders(databin_source(f, *ix).metadata_bin0()),
            (std::vector<std::uint64_t>{0, 1, 2}));
}

TEST(Jpx, FragmentTableInTheSameFileNamesItsCodestream) {
  const bytes r = read_file(vector_path("rgb_t.j2k"));
  // A free box holds the codestream in two fragments that follow each other; a jp2c comes first.
  const bytes g = read_file(vector_path("g_plt.j2k"));
  const bytes head = cat({jpx_head(), make_box("jp2c", g)});
  const std::uint64_t table_size = ftbl({{0, 1, 0}, {0, 1, 0}}).size();
  const std::uint64_t at = head.size() + table_size + 8;  // the free box's content
  const bytes f =
      cat({head, ftbl({{at, 100, 0}, {at + 100, r.size() - 100, 0}}), make_box("free", r)});
  auto ix = image_index::build(f);
  ASSERT_TRUE(ix) << ix.error().to_string();
  ASSERT_EQ(ix->codestreams.size(), 2u);
  EXPECT_EQ(ix->codestreams[1].range.offset, at);
  EXPECT_EQ(ix->codestreams[1].range.length, r.size());
  expect_same_bins(*ix, f, 1, r);
  EXPECT_EQ(placeholders(databin_source(f, *ix).metadata_bin0()),
            (std::vector<std::uint64_t>{0, 1}));
}

TEST(Jpx, LinkedCodestreamsAreReadFromTheFilesTheResolverGives) {
  const bytes g = read_file(vector_path("g_plt.j2k")), r = read_file(vector_path("rgb_t.j2k"));
  // Frame 1 is a JP2 file: its fragment is the content of its jp2c box.
  const bytes frame1 = cat({jpx_head(), make_box("jp2c", r)});
  const std::uint64_t frame1_cs = frame1.size() - r.size();
  const std::map<std::string, bytes> files{{"f0.j2k", g}, {"frames/f1.jp2", frame1}};
  const bytes f =
      cat({jpx_head(), dtbl({url("f0.j2k"), url("frames/f1.jp2")}), ftbl({{0, g.size(), 1}}),
           ftbl({{frame1_cs, r.size(), 2}}), ftbl({{0, g.size(), 1}})});
  std::vector<std::string> asked;
  auto ix = image_index::build(f, {}, [&](const data_reference& d) -> result<bytes_view> {
    asked.push_back(d.location);
    return bytes_view(files.at(d.location));
  });
  ASSERT_TRUE(ix) << ix.error().to_string();
  EXPECT_EQ(asked, (std::vector<std::string>{"f0.j2k", "frames/f1.jp2"}));  // once each
  ASSERT_EQ(ix->codestreams.size(), 3u);
  ASSERT_TRUE(ix->jp2->linked());
  expect_same_bins(*ix, f, 0, g);
  expect_same_bins(*ix, f, 1, r);
  expect_same_bins(*ix, f, 2, g);
  bool has_dtbl = true;
  EXPECT_EQ(placeholders(databin_source(f, *ix).metadata_bin0(), &has_dtbl),
            (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_FALSE(has_dtbl) << "the server's URLs stay out of metadata-bin 0";
}

TEST(Jpx, LinkedCodestreamWithoutAResolverIsUnsupportedAndNamesTheUrl) {
  const bytes f = cat({jpx_head(), dtbl({url("frame0.j2k")}), ftbl({{0, 100, 1}})});
  auto ix = image_index::build(f);
  ASSERT_FALSE(ix);
  EXPECT_EQ(ix.error().code, errc::unsupported);
  EXPECT_NE(ix.error().message.find("frame0.j2k"), std::string::npos) << ix.error().to_string();
}

TEST(Jpx, ResolverRefusalIsReturnedAtTheUrlBox) {
  const bytes d = dtbl({url("file:///etc/passwd")});
  const bytes f = cat({jpx_head(), d, ftbl({{0, 100, 1}})});
  auto ix = image_index::build(f, {}, [](const data_reference& r) -> result<bytes_view> {
    return fail(errc::not_found, no_offset, "url box: '" + r.location + "' is outside");
  });
  ASSERT_FALSE(ix);
  EXPECT_EQ(ix.error().code, errc::not_found);
  EXPECT_EQ(ix.error().offset, jpx_head().size() + 8 + 2);  // the url box inside the dtbl
  EXPECT_NE(ix.error().message.find("file:///etc/passwd"), std::string::npos);
}

TEST(Jpx, LinkedFragmentPastTheEndOfItsFileIsAnErrorNamingTheFile) {
  const bytes g = read_file(vector_path("g_plt.j2k"));
  const bytes f = cat({jpx_head(), dtbl({url("f0.j2k")}), ftbl({{10, g.size(), 1}})});
  auto ix = image_index::build(
      f, {}, [&](const data_reference&) -> result<bytes_view> { return bytes_view(g); });
  ASSERT_FALSE(ix);
  EXPECT_EQ(ix.error().code, errc::truncated);
  EXPECT_NE(ix.error().message.find("'f0.j2k'"), std::string::npos) << ix.error().to_string();
}

TEST(Jpx, MalformedFragmentTablesAreErrors) {
  const bytes head = jpx_head();
  struct bad_case {
    const char* what;
    bytes file;
    errc code;
    const char* says;
  };
  bytes flst_short =
      make_box("ftbl", make_box("flst", {0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0}));
  const bad_case cases[] = {
      {"DR beyond NDR", cat({head, dtbl({url("a.j2k")}), ftbl({{0, 10, 2}})}), errc::corrupt,
       "data reference 2"},
      {"no dtbl", cat({head, ftbl({{0, 10, 1}})}), errc::corrupt, "data reference 1"},
      {"NF = 0", cat({head, ftbl({})}), errc::corrupt, "NF = 0"},
      {"NF too large", cat({head, flst_short}), errc::corrupt, "NF = 2"},
      {"empty fragment", cat({head, ftbl({{0, 0, 0}})}), errc::corrupt, "empty"},
      {"scattered", cat({head, ftbl({{0, 10, 0}, {20, 10, 0}})}), errc::unsupported, "scattered"},
      {"no flst", cat({head, make_box("ftbl", make_box("free", {}))}), errc::corrupt, "flst"},
      {"dtbl with another box", cat({head, make_box("dtbl", cat({{0, 1}, make_box("free", {})}))}),
       errc::corrupt, "url box belongs"},
      {"url without NUL",
       cat({head, make_box("dtbl", cat({{0, 1}, make_box("url ", {0, 0, 0, 0, 'a'})}))}),
       errc::corrupt, "NUL"},
      {"NDR wrong", cat({head, make_box("dtbl", cat({{0, 2}, url("a")}))}), errc::corrupt, "NDR"},
  };
  for (const auto& c : cases) {
    auto ix = image_index::build(c.file);
    ASSERT_FALSE(ix) << c.what;
    EXPECT_EQ(ix.error().code, c.code) << c.what << ": " << ix.error().to_string();
    EXPECT_NE(ix.error().message.find(c.says), std::string::npos)
        << c.what << ": " << ix.error().to_string();
  }
}
