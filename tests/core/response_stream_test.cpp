// response_stream: the gathered output (views of the file and header bins) is byte for byte the
// copied output, whatever the chunk size, window, len or layers; window_precincts comes out in
// its documented order. gather_buffer merges and copies pieces as documented.
#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "codestream_test_util.hpp"
#include "pipit/gather_buffer.hpp"
#include "pipit/image_index.hpp"
#include "pipit/jpp.hpp"
#include "pipit/response_stream.hpp"

using namespace pipit;
using pipit::testing::corpus_files;
using pipit::testing::read_file;

namespace {

std::vector<std::uint8_t> gathered(const databin_source& src, const image_index& ix, const stream_plan& plan,
                                   std::size_t chunk) {
  stream_model model(ix);
  response_stream rs(src, model, plan);
  std::vector<std::uint8_t> out;
  gather_buffer g;
  bool more = true;
  while (more) {
    g.clear();
    more = rs.next(g, chunk);
    g.append_to(out);
  }
  response_stream::append_eor(out, rs.reason());
  return out;
}

// Every message body equals the bin's bytes as databin_source::copy gives them (a separate path).
void expect_bodies_match_bins(const databin_source& src, const std::vector<std::uint8_t>& stream,
                              const std::string& what) {
  jpp_reader r;
  r.feed(stream);
  for (;;) {
    auto ev = r.next();
    ASSERT_TRUE(ev) << what << ": " << ev.error().message;
    const auto* m = std::get_if<jpp_message>(&*ev);
    if (m == nullptr) break;
    const bin_id id = m->bin();
    if (id.kind == bin_kind::tile) continue;  // tile data-bins: checked by the JPT tests
    std::vector<std::uint8_t> want;
    src.copy(id, m->msg_offset, m->msg_offset + m->msg_length(), want);
    ASSERT_TRUE(std::equal(want.begin(), want.end(), m->body.begin(), m->body.end()))
        << what << ": bin " << static_cast<int>(id.kind) << '/' << id.id << " at " << m->msg_offset;
  }
}

}  // namespace

TEST(GatherBuffer, MergesOwnedAndContiguousViewsAndCopiesSmallOnes) {
  std::vector<std::uint8_t> file(4096);
  for (std::size_t i = 0; i < file.size(); ++i) file[i] = static_cast<std::uint8_t>(i * 7);
  const bytes_view f(file);
  gather_buffer g;
  auto& b = g.owned_bytes();
  std::size_t from = b.size();
  b.push_back(1);
  g.take_owned(from);
  from = b.size();
  b.push_back(2);
  g.take_owned(from);            // continues the first owned piece
  g.add_view(f.subspan(0, 1000));
  g.add_view(f.subspan(1000, 500));  // continues the previous view
  g.add_view(f.subspan(2000, 10));   // small: copied
  g.add_copy(f.subspan(3000, 5));    // continues that copy
  g.add_view(f.subspan(0, 0));       // nothing
  EXPECT_EQ(g.piece_count(), 3u);
  EXPECT_EQ(g.size(), 2u + 1500 + 15);
  std::vector<std::uint8_t> want{1, 2};
  want.insert(want.end(), file.begin(), file.begin() + 1500);
  want.insert(want.end(), file.begin() + 2000, file.begin() + 2010);
  want.insert(want.end(), file.begin() + 3000, file.begin() + 3005);
  std::vector<std::uint8_t> got;
  g.append_to(got);
  EXPECT_EQ(got, want);
  std::size_t n = 0;
  g.for_each([&](const std::uint8_t* p, std::size_t k) {
    if (p >= file.data() && p < file.data() + file.size()) {
      EXPECT_EQ(p, file.data());  // the one view
    }
    n += k;
  });
  EXPECT_EQ(n, g.size());
  g.clear();
  EXPECT_TRUE(g.empty());
  EXPECT_EQ(g.piece_count(), 0u);
}

TEST(ResponseStream, GatheredBodiesAreTheBinsAndDoNotDependOnTheChunkSize) {
  const auto files = corpus_files();
  ASSERT_FALSE(files.empty()) << "no corpus: run the corpus_generate test first";
  std::mt19937 rng(7);
  int checked = 0;
  for (const auto& path : files) {
    const auto file = read_file(path);
    auto ix = image_index::build(file);
    if (!ix) continue;
    const databin_source src(file, *ix);
    const auto& cs = ix->codestreams[0];
    for (int k = 0; k < 4; ++k) {
      stream_plan plan;
      plan.jpt = k == 3;
      stream_codestream sc;
      sc.window.region = grid_rect{0, 0, cs.siz.Xsiz, cs.siz.Ysiz};
      if (k >= 1) {
        const std::uint32_t d = rng() % 3, W = std::max<std::uint32_t>(cs.siz.Xsiz >> d, 1), H = std::max<std::uint32_t>(cs.siz.Ysiz >> d, 1);
        const std::uint32_t x = rng() % W, y = rng() % H;
        sc.window.discard_levels = d;
        sc.window.region = grid_rect{x, y, x + 1 + rng() % (W - x), y + 1 + rng() % (H - y)};
        sc.window.layers = k == 2 ? 1 : 0;
      }
      plan.codestreams.push_back(sc);
      if (k == 2) plan.len = 1 + rng() % 20000;
      const auto whole = gathered(src, *ix, plan, std::size_t{1} << 30);
      expect_bodies_match_bins(src, whole, path + " case " + std::to_string(k));
      for (std::size_t chunk : {std::size_t{1}, std::size_t{4096}}) {
        ASSERT_EQ(gathered(src, *ix, plan, chunk), whole) << path << " case " << k << " chunk " << chunk;
        stream_model model(*ix);
        response_stream rs(src, model, plan);
        std::vector<std::uint8_t> copy;
        while (rs.next(copy, chunk)) {
        }
        response_stream::append_eor(copy, rs.reason());
        ASSERT_EQ(copy, whole) << path << " case " << k << " chunk " << chunk << " (copied)";
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST(WindowPrecincts, OrderedByResolutionComponentTileSlotWithoutRepeats) {
  std::mt19937 rng(11);
  for (const auto& path : corpus_files()) {
    const auto file = read_file(path);
    auto ix = image_index::build(file);
    if (!ix) continue;
    const auto& cs = ix->codestreams[0];
    for (int k = 0; k < 8; ++k) {
      window_spec w;
      const std::uint32_t d = rng() % 3, W = std::max<std::uint32_t>(cs.siz.Xsiz >> d, 1), H = std::max<std::uint32_t>(cs.siz.Ysiz >> d, 1);
      const std::uint32_t x = rng() % W, y = rng() % H;
      w.discard_levels = d;
      w.region = grid_rect{x, y, x + 1 + rng() % (W - x), y + 1 + rng() % (H - y)};
      const auto p = window_precincts(cs, w);
      for (std::size_t i = 1; i < p.size(); ++i)
        ASSERT_LT(std::tie(p[i - 1].resolution, p[i - 1].component, p[i - 1].tile, p[i - 1].slot),
                  std::tie(p[i].resolution, p[i].component, p[i].tile, p[i].slot))
            << path;
    }
  }
}

TEST(ResponseStream, WholeImageOfARawCodestreamEndsWithImageDone) {
  // A raw codestream has no metadata-bin to send: the whole image is everything (EOR 1); a part
  // of it is EOR 2.
  const auto file = read_file(pipit::testing::vector_path("rgb_t.j2k"));
  auto ix = image_index::build(file);
  ASSERT_TRUE(ix);
  ASSERT_FALSE(ix->is_jp2);
  const databin_source src(file, *ix);
  const auto& siz = ix->codestreams[0].siz;
  for (bool whole_metadata : {true, false}) {
    stream_plan plan;
    plan.whole_metadata = whole_metadata;
    stream_codestream sc;
    sc.window.region = grid_rect{0, 0, siz.Xsiz, siz.Ysiz};
    plan.codestreams.push_back(sc);
    stream_model model(*ix);
    response_stream whole(src, model, plan);
    std::vector<std::uint8_t> out;
    while (whole.next(out, 1 << 20)) {
    }
    EXPECT_EQ(whole.reason(), eor_reason::image_done);
    plan.codestreams[0].window.region = grid_rect{0, 0, siz.Xsiz / 2, siz.Ysiz / 2};
    stream_model fresh(*ix);
    response_stream part(src, fresh, plan);
    while (part.next(out, 1 << 20)) {
    }
    EXPECT_EQ(part.reason(), eor_reason::window_done);
  }
}
