// response_stream: the gathered output (views of the file and header bins) is byte for byte the
// copied output, whatever the chunk size, window, len or layers; precinct data goes precinct by
// precinct when the window fits the budget and layer by layer when `len` cuts it;
// window_precincts comes out in its documented order. gather_buffer merges and copies pieces as
// documented.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <tuple>

#include "codestream_test_util.hpp"
#include "pipit/gather_buffer.hpp"
#include "pipit/image_index.hpp"
#include "pipit/jpp.hpp"
#include "pipit/request.hpp"
#include "pipit/response.hpp"
#include "pipit/response_stream.hpp"
#include "pipit/window.hpp"

using namespace pipit;
using pipit::testing::corpus_files;
using pipit::testing::read_file;

namespace {

std::vector<std::uint8_t> gathered(const databin_source& src, const image_index& ix,
                                   const stream_plan& plan, std::size_t chunk) {
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

// The precinct messages of a stream, bodies copied.
struct precinct_message {
  std::uint64_t id = 0, offset = 0;
  std::vector<std::uint8_t> body;
};
std::vector<precinct_message> precinct_messages(const std::vector<std::uint8_t>& stream) {
  std::vector<precinct_message> out;
  jpp_reader r;
  r.feed(stream);
  for (;;) {
    auto ev = r.next();
    if (!ev) ADD_FAILURE() << ev.error().message;
    const auto* m = ev ? std::get_if<jpp_message>(&*ev) : nullptr;
    if (m == nullptr) break;
    if (m->bin().kind == bin_kind::precinct)
      out.push_back(precinct_message{m->in_class_id, m->msg_offset,
                                     std::vector<std::uint8_t>(m->body.begin(), m->body.end())});
  }
  return out;
}

std::vector<std::uint8_t> one_response(const databin_source& src, stream_model& model,
                                       const stream_plan& plan, eor_reason* reason = nullptr) {
  response_stream rs(src, model, plan);
  std::vector<std::uint8_t> out;
  while (rs.next(out, std::size_t{1} << 30)) {
  }
  if (reason) *reason = rs.reason();
  return out;
}

// Appends messages to per-bin buffers, checking each continues its bin.
void assemble(std::map<std::uint64_t, std::vector<std::uint8_t>>& bins,
              const std::vector<precinct_message>& ms, const std::string& what) {
  for (const auto& m : ms) {
    auto& b = bins[m.id];
    ASSERT_EQ(b.size(), m.offset) << what << ": precinct " << m.id;
    b.insert(b.end(), m.body.begin(), m.body.end());
  }
}

}  // namespace

TEST(ResponseStream, PrecinctByPrecinctWhenTheWindowFitsLayerByLayerWhenLenCutsIt) {
  int multi_layer = 0;
  for (const auto& path : corpus_files()) {
    const auto file = read_file(path);
    auto ix = image_index::build(file);
    if (!ix) continue;
    const databin_source src(file, *ix);
    const auto& cs = ix->codestreams[0];
    stream_plan plan;
    stream_codestream sc;
    sc.window.region = rect{0, 0, cs.siz.Xsiz, cs.siz.Ysiz};
    plan.codestreams.push_back(sc);

    // No len: one message per precinct bin, from its first byte.
    stream_model fresh(*ix);
    const auto whole_stream = one_response(src, fresh, plan);
    const auto whole = precinct_messages(whole_stream);
    std::map<std::uint64_t, std::vector<std::uint8_t>> bins;
    std::uint64_t body_bytes = 0;
    for (const auto& m : whole) {
      ASSERT_EQ(m.offset, 0u) << path;
      ASSERT_TRUE(bins.emplace(m.id, m.body).second)
          << path << ": precinct " << m.id << " sent twice";
      body_bytes += m.body.size();
    }
    if (body_bytes < 2) continue;

    // A len the window fits in (with room for the largest message headers): the same stream.
    stream_model roomy(*ix);
    stream_plan fits = plan;
    fits.len = whole_stream.size() + jpp_writer::max_header_bytes * whole.size();
    EXPECT_EQ(one_response(src, roomy, fits), whole_stream) << path;

    // len of half the data: layer by layer (the layer a message starts in never decreases); the
    // same request without len then completes exactly the same bins.
    stream_model model(*ix);
    stream_plan cut = plan;
    cut.len = body_bytes / 2;
    eor_reason reason{};
    const auto first = precinct_messages(one_response(src, model, cut, &reason));
    EXPECT_EQ(reason, eor_reason::byte_limit) << path;
    unsigned last_layer = 0;
    std::map<std::uint64_t, int> count;
    bool several = false;
    for (const auto& m : first) {
      std::uint32_t tile = 0, slot = 0;
      ASSERT_TRUE(src.precinct_slot(0, m.id, tile, slot)) << path;
      const auto layout = src.precinct(0, tile, slot);
      const auto layer = static_cast<unsigned>(
          std::upper_bound(layout.layer_end.begin(), layout.layer_end.end(), m.offset) -
          layout.layer_end.begin());
      ASSERT_GE(layer, last_layer) << path << ": precinct " << m.id << " at " << m.offset;
      last_layer = layer;
      several = several || ++count[m.id] > 1;
    }
    std::map<std::uint64_t, std::vector<std::uint8_t>> got;
    assemble(got, first, path);
    assemble(got, precinct_messages(one_response(src, model, plan)), path);
    std::erase_if(got, [](const auto& kv) { return kv.second.empty(); });
    std::erase_if(bins, [](const auto& kv) { return kv.second.empty(); });
    EXPECT_EQ(got, bins) << path;
    if (several) ++multi_layer;
  }
  EXPECT_GT(multi_layer, 3) << "too few corpus files sent a precinct in several layer messages";
}

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
  g.take_owned(from);  // continues the first owned piece
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
      sc.window.region = rect{0, 0, cs.siz.Xsiz, cs.siz.Ysiz};
      if (k >= 1) {
        const std::uint32_t d = rng() % 3, W = std::max<std::uint32_t>(cs.siz.Xsiz >> d, 1),
                            H = std::max<std::uint32_t>(cs.siz.Ysiz >> d, 1);
        const std::uint32_t x = rng() % W, y = rng() % H;
        sc.window.discard_levels = d;
        sc.window.region = rect{x, y, static_cast<std::int64_t>(x + 1 + rng() % (W - x)),
                                static_cast<std::int64_t>(y + 1 + rng() % (H - y))};
        sc.window.layers = k == 2 ? 1 : 0;
      }
      plan.codestreams.push_back(sc);
      if (k == 2) plan.len = 1 + rng() % 20000;
      const auto whole = gathered(src, *ix, plan, std::size_t{1} << 30);
      expect_bodies_match_bins(src, whole, path + " case " + std::to_string(k));
      for (std::size_t chunk : {std::size_t{1}, std::size_t{4096}}) {
        ASSERT_EQ(gathered(src, *ix, plan, chunk), whole)
            << path << " case " << k << " chunk " << chunk;
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
      const std::uint32_t d = rng() % 3, W = std::max<std::uint32_t>(cs.siz.Xsiz >> d, 1),
                          H = std::max<std::uint32_t>(cs.siz.Ysiz >> d, 1);
      const std::uint32_t x = rng() % W, y = rng() % H;
      w.discard_levels = d;
      w.region = rect{x, y, static_cast<std::int64_t>(x + 1 + rng() % (W - x)),
                      static_cast<std::int64_t>(y + 1 + rng() % (H - y))};
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
    sc.window.region = rect{0, 0, siz.Xsiz, siz.Ysiz};
    plan.codestreams.push_back(sc);
    stream_model model(*ix);
    response_stream whole(src, model, plan);
    std::vector<std::uint8_t> out;
    while (whole.next(out, 1 << 20)) {
    }
    EXPECT_EQ(whole.reason(), eor_reason::image_done);
    plan.codestreams[0].window.region = rect{0, 0, siz.Xsiz / 2, siz.Ysiz / 2};
    stream_model fresh(*ix);
    response_stream part(src, fresh, plan);
    while (part.next(out, 1 << 20)) {
    }
    EXPECT_EQ(part.reason(), eor_reason::window_done);
  }
}

namespace {

// FNV-1a, 64 bits: a fingerprint of a response's bytes.
std::uint64_t fnv1a(const std::vector<std::uint8_t>& v) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (std::uint8_t b : v) h = (h ^ b) * 0x100000001B3ull;
  return h;
}

// The responses of one session of view-window requests on a fixture: a browse at four scales with
// windows at fixed pseudo-random places (std::mt19937's sequence is fixed by the standard), some
// repeated (the model then holds them), some with len, layers or comps; a new session (an empty
// model) every four windows.
std::vector<std::uint64_t> browse_fingerprints(const std::string& name) {
  const auto file = read_file(pipit::testing::vector_path(name));
  auto ix = image_index::build(file);
  EXPECT_TRUE(ix) << name;
  if (!ix) return {};
  const databin_source src(file, *ix);
  const auto& cs = ix->codestreams[0];
  stream_model model(*ix);
  std::mt19937 rng(2026);
  std::vector<std::string> queries;
  for (int k = 0; k < 12; ++k) {
    const unsigned s = rng() % 4, fw = std::max(1u, cs.siz.Xsiz >> s),
                   fh = std::max(1u, cs.siz.Ysiz >> s);
    const unsigned w = std::min(40u, fw), h = std::min(40u, fh);
    const unsigned x = rng() % (fw - w + 1), y = rng() % (fh - h + 1);
    std::string q = "fsiz=" + std::to_string(fw) + ',' + std::to_string(fh) +
                    "&roff=" + std::to_string(x) + ',' + std::to_string(y) +
                    "&rsiz=" + std::to_string(w) + ',' + std::to_string(h);
    if (k == 3) q += "&len=700";
    if (k == 5) q += "&layers=1";
    if (k == 7) q += "&comps=0";
    queries.push_back(q);
    if (k % 4 == 1) queries.push_back(q);    // asked again: only what the model lacks
    if (k % 4 == 3) queries.emplace_back();  // an empty query: a new session
  }
  queries.push_back("fsiz=" + std::to_string(cs.siz.Xsiz) + ',' + std::to_string(cs.siz.Ysiz) +
                    "&len=5000");
  queries.push_back("fsiz=" + std::to_string(cs.siz.Xsiz) + ',' + std::to_string(cs.siz.Ysiz));
  std::vector<std::uint64_t> out;
  for (const auto& q : queries) {
    if (q.empty()) {
      model.clear();
      continue;
    }
    auto rq = parse_request(q);
    EXPECT_TRUE(rq) << q;
    if (!rq) return {};
    response_options o;
    if (rq->len) o.len = *rq->len;
    std::vector<std::uint8_t> bytes;
    compose_response(src, window_from_request(cs, *rq), model, o, bytes);
    out.push_back(fnv1a(bytes));
  }
  return out;
}

}  // namespace

// The bytes of a session's responses are pinned: the composer's output for the same requests must
// not change when its code does (a change of order or header coding shows here first).
TEST(ResponseStream, BrowseResponsesAreByteIdenticalToThePinnedOnes) {
  const std::map<std::string, std::vector<std::uint64_t>> pinned = {
      {"g_plt.j2k",
       {0x75335608667F2ACEull, 0x0B54263C296523A4ull, 0xD94646186C096965ull, 0x95EC6D1781DB8E22ull,
        0x81BD096315C0FFEAull, 0xB14825874ACAB06Eull, 0xEC9C2A5F1C9224F2ull, 0xD94646186C096965ull,
        0x9F8717B6F13DEB7Eull, 0x0849FF6266B6D5FAull, 0x3F95CF691E6F8531ull, 0x54F1A776A64FFF95ull,
        0xD94646186C096965ull, 0xD94646186C096965ull, 0xD8F5458F92085319ull, 0x7E2AB29070684DA9ull,
        0xDFCA94D0AB08A314ull}},
      {"g_eph.j2k",
       {0x5DD14DECB123E155ull, 0x1320F838261AB91Full, 0xD94646186C096965ull, 0x3B9043034B95C2ACull,
        0x87E7B0133D44EA96ull, 0xD97D13916226F405ull, 0x86FB39F8D6392B8Full, 0xD94646186C096965ull,
        0x9C1C0AFC4175E3FFull, 0x68CD8FC2829DD48Full, 0xD3EC5E4DC8F8B309ull, 0xD728A5DFD07B7F8Eull,
        0xD94646186C096965ull, 0xD94646186C096965ull, 0x8DE98C488E00BA1Cull, 0xC822E9B48C39B02Dull,
        0xF3C2B5B5547A256Full}},
      {"rgb_t.j2k",
       {0x21EAE986756B367Eull, 0x7C35FD36B623B162ull, 0xD94646186C096965ull, 0xF7FEFA9AFEF2F1CBull,
        0x174DE58023A36720ull, 0x619CBA1E5C5A785Bull, 0xB52ADCE77122013Aull, 0xD94646186C096965ull,
        0x1959E2BCAF4D528Full, 0xE381060558321EB2ull, 0x559A427D4EA8A4D3ull, 0x62C34F65AC67D1B5ull,
        0xD94646186C096965ull, 0x0CC7C99D1EC8C91Dull, 0x38BF625178AF8C4Dull, 0xC6ACC60C24CBD901ull,
        0x41EC68836756C99Aull}},
  };
  for (const auto& [name, want] : pinned) {
    const auto got = browse_fingerprints(name);
    std::string text;
    for (std::uint64_t h : got) {
      char b[32];
      std::snprintf(b, sizeof b, "0x%016llXull, ", static_cast<unsigned long long>(h));
      text += b;
    }
    EXPECT_EQ(got, want) << name << " now gives {" << text << "}";
  }
}
