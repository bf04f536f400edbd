// format_request() / parse_request() round trips: fixed examples and random requests (fixed
// seed) over every field.
#include <gtest/gtest.h>

#include <random>

#include "pipit/request.hpp"

namespace {

using namespace pipit;

class generator {
 public:
  explicit generator(std::uint64_t seed) : rng_(seed) {}

  bool coin() { return (rng_() & 1) != 0; }
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  // Small numbers mostly, sometimes the extremes.
  std::uint64_t number(std::uint64_t max) {
    switch (below(4)) {
      case 0: return max;
      case 1: return rng_() % (max == ~0ull ? max : max + 1);
      default: return below(std::min<std::uint64_t>(max, 1000) + 1);
    }
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(number(0xFFFFFFFFu)); }

  std::string text(unsigned char lo, unsigned char hi, std::size_t min_len,
                   std::string_view avoid) {
    std::string s;
    std::size_t n = min_len + below(12);
    while (s.size() < n) {
      auto c = static_cast<char>(lo + below(hi - lo + 1u));
      if (avoid.find(c) == std::string_view::npos) s.push_back(c);
    }
    return s;
  }
  std::string pick(std::initializer_list<const char*> options) {
    return *(options.begin() + below(options.size()));
  }

  uint_range range(bool allow_open) {
    uint_range r{u32(), std::nullopt};
    if (!allow_open || coin())
      r.to = r.from + static_cast<std::uint32_t>(below(0xFFFFFFFFull - r.from + 1));
    return r;
  }
  sampled_range sampled() {
    uint_range r = range(true);
    return sampled_range{r.from, r.to,
                         coin() ? 1u : static_cast<std::uint32_t>(1 + below(0xFFFFFFFEull))};
  }
  template <class F>
  auto list(F make) {
    std::vector<decltype(make())> v;
    std::size_t n = 1 + below(4);
    for (std::size_t i = 0; i < n; ++i) v.push_back(make());
    return v;
  }

  model_item model() {
    model_item m;
    if (coin()) m.codestreams = list([&] { return sampled(); });
    m.subtractive = coin();
    if (coin()) {
      explicit_bins b;
      b.kind = static_cast<bin_kind>(std::array<int, 5>{0, 2, 4, 6, 8}[below(5)]);
      if (b.kind == bin_kind::main_header) {
        b.id = 0;
      } else if (coin()) {
        b.id = number(~0ull);
      }
      m.bins = b;
      if (coin()) {
        m.limit_kind = b.kind == bin_kind::precinct && coin() ? model_limit_kind::layers
                                                              : model_limit_kind::bytes;
        m.limit = number(~0ull);
      }
    } else {
      implicit_bins b;
      auto axis = [&]() -> std::optional<uint_range> {
        if (coin()) return std::nullopt;
        return range(true);
      };
      b.t = axis();
      b.c = axis();
      b.r = axis();
      b.p = axis();
      if (!b.t && !b.c && !b.r && !b.p) b.p = uint_range{0, std::nullopt};
      m.bins = b;
      if (coin()) {
        m.limit_kind = model_limit_kind::layers;
        m.limit = number(~0ull);
      }
    }
    return m;
  }

  metareq_box box() {
    metareq_box b;
    b.box_type = below(4) == 0 ? "*" : text(0x20, 0x7E, 4, "[]:;/!,*").substr(0, 4);
    b.limit_kind = static_cast<metareq_limit_kind>(below(3));
    if (b.limit_kind == metareq_limit_kind::bytes) b.limit = number(~0ull);
    b.qualifier = static_cast<std::uint8_t>(below(16));
    b.priority = coin();
    return b;
  }

  jpip_request request() {
    jpip_request r;
    if (coin()) r.target = text(0x20, 0xFF, 1, "\x7F");
    if (coin()) r.tid = text(0x20, 0x7E, 1, "");
    if (coin()) r.cid = text(0x21, 0x7E, 1, ",");
    if (coin()) r.cnew = channel_new{list([&] { return text('+', 'z', 1, ",:;<=>?@[\\]^`"); })};
    if (coin()) {
      r.cclose = coin() ? channel_close{true, {}}
                        : channel_close{false, list([&] { return text(0x21, 0x7E, 1, ",*"); })};
    }
    if (coin()) r.qid = number(~0ull);
    if (coin()) {
      r.type = return_types{list([&] {
        switch (below(4)) {
          case 0: return return_type{"jpp-stream", coin() ? "ptype=ext" : ""};
          case 1: return return_type{"jpt-stream", coin() ? "ttype=ext" : ""};
          case 2: return return_type{"raw", ""};
          default: return return_type{pick({"image/jpeg", "image/svg+xml"}), pick({"", "q=1;v=2"})};
        }
      })};
    }
    if (coin()) r.stream = list([&] { return sampled(); });
    if (coin()) {
      context_spec c;
      std::size_t n = 1 + below(3);
      for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) c.raw += ',';
        if (coin()) {
          c.raw += "mj2t<1>";
          continue;
        }
        c.raw += "jpxl<";
        auto ranges = list([&] { return sampled(); });
        for (std::size_t k = 0; k < ranges.size(); ++k) {
          if (k > 0) c.raw += ',';
          c.raw += std::to_string(ranges[k].from);
          if (!ranges[k].to) c.raw += '-';
          if (ranges[k].to && *ranges[k].to != ranges[k].from)
            c.raw += '-' + std::to_string(*ranges[k].to);
          if (ranges[k].step != 1) c.raw += ':' + std::to_string(ranges[k].step);
          c.jpx_layers.push_back(ranges[k]);
        }
        c.raw += coin() ? ">" : ">[s0,1]";
      }
      r.context = c;
    }
    if (coin()) {
      r.fsiz = frame_size{u32(), u32(), static_cast<round_direction>(below(3))};
      if (coin()) r.roff = point{u32(), u32()};
      if (coin()) r.rsiz = point{u32(), u32()};
    }
    if (coin()) r.comps = list([&] { return range(true); });
    if (coin()) r.layers = u32();
    if (coin()) r.len = number(~0ull);
    if (coin()) r.quality = static_cast<std::uint8_t>(below(101));
    if (coin()) {
      metadata_request m;
      m.items = list([&] {
        metareq_item it;
        it.boxes = list([&] { return box(); });
        if (coin()) it.root_bin = number(~0ull);
        if (coin()) it.max_depth = u32();
        return it;
      });
      m.metadata_only = coin();
      r.metareq = m;
    }
    if (coin()) r.model = cache_model_spec{list([&] { return model(); })};
    if (coin()) r.wait = coin();
    if (coin()) r.align = coin();
    for (auto* raw : {&r.cap, &r.pref, &r.csf, &r.handled, &r.srate, &r.roi, &r.drate}) {
      if (below(4) == 0) *raw = text(0x00, 0xFF, 0, "");
    }
    return r;
  }

 private:
  std::mt19937_64 rng_;
};

TEST(RequestRoundTrip, CanonicalForms) {
  const char* queries[] = {
      "cnew=http&type=jpp-stream&stream=0&tid=0&len=2000",
      "cid=abc&fsiz=1280,960,closest&roff=16,32&rsiz=640,480&comps=0-2&quality=3",
      "cclose=*&cid=ch1",
      "model=%5B0-2%5DHm,P3:L2,-P5,t0-3c0r2p*:L2",
      "context=jpxl%3C0-3%3E",
  };
  for (const char* q : queries) {
    auto r = parse_request(q);
    ASSERT_TRUE(r) << q << ": " << r.error().to_string();
    std::string f = format_request(*r);
    auto again = parse_request(f);
    ASSERT_TRUE(again) << f;
    EXPECT_EQ(*again, *r) << f;
  }
  auto r = parse_request("tid=0&stream=0&type=jpp-stream&cnew=http&len=2000");
  EXPECT_EQ(format_request(*r), "tid=0&cnew=http&type=jpp-stream&stream=0&len=2000");
  r = parse_request("fsiz=100,100&target=a%20b%26c%2Bd%3D");
  EXPECT_EQ(format_request(*r), "target=a%20b%26c%2Bd=&fsiz=100,100,round-down");
}

TEST(RequestRoundTrip, RandomRequests) {
  generator gen(20240611);
  for (int i = 0; i < 3000; ++i) {
    jpip_request r = gen.request();
    std::string q = format_request(r);
    auto parsed = parse_request(q);
    ASSERT_TRUE(parsed) << "iteration " << i << ": " << q << "\n" << parsed.error().to_string();
    ASSERT_EQ(*parsed, r) << "iteration " << i << ": " << q;
    ASSERT_EQ(format_request(*parsed), q);
  }
}

}  // namespace
