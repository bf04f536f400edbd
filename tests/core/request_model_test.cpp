// The model and metareq fields (docs/jpip-notes.md §8.1, §2.4).
#include <gtest/gtest.h>

#include "pipit/cache_model_spec.hpp"
#include "pipit/request.hpp"

namespace {

using namespace pipit;

cache_model_spec model_ok(std::string_view v) {
  auto m = parse_cache_model(v);
  EXPECT_TRUE(m) << v << ": " << (m ? "" : m.error().to_string());
  return m ? *m : cache_model_spec{};
}

model_item ex(bin_kind k, std::optional<std::uint64_t> id,
              model_limit_kind lk = model_limit_kind::whole, std::uint64_t limit = 0) {
  model_item it;
  it.bins = explicit_bins{k, id};
  it.limit_kind = lk;
  it.limit = limit;
  return it;
}

TEST(RequestModel, EsajpipDocumentationExample) {
  cache_model_spec m = model_ok("Hm,H*,M2,P0:20");
  std::vector<model_item> want{ex(bin_kind::main_header, 0), ex(bin_kind::tile_header, {}),
                               ex(bin_kind::metadata, 2),
                               ex(bin_kind::precinct, 0, model_limit_kind::bytes, 20)};
  EXPECT_EQ(m.items, want);
  EXPECT_EQ(format_cache_model(m), "Hm,H*,M2,P0:20");
}

TEST(RequestModel, LayerLimitSubtractiveAndTiles) {
  EXPECT_EQ(model_ok("P12:L3").items[0], ex(bin_kind::precinct, 12, model_limit_kind::layers, 3));
  model_item sub = ex(bin_kind::precinct, 5);
  sub.subtractive = true;
  EXPECT_EQ(model_ok("-P5").items[0], sub);
  EXPECT_EQ(model_ok("T7:100").items[0], ex(bin_kind::tile, 7, model_limit_kind::bytes, 100));
  EXPECT_EQ(model_ok("T*").items[0], ex(bin_kind::tile, {}));
  EXPECT_EQ(model_ok("M*").items[0], ex(bin_kind::metadata, {}));
  EXPECT_EQ(model_ok("P18446744073709551615").items[0],
            ex(bin_kind::precinct, 18446744073709551615u));
}

TEST(RequestModel, ImplicitForm) {
  cache_model_spec m = model_ok("t0-3c0r2p*:L2");
  ASSERT_EQ(m.items.size(), 1u);
  const auto& im = std::get<implicit_bins>(m.items[0].bins);
  EXPECT_EQ(im.t, (uint_range{0, 3}));
  EXPECT_EQ(im.c, (uint_range{0, 0}));
  EXPECT_EQ(im.r, (uint_range{2, 2}));
  EXPECT_EQ(im.p, (uint_range{0, std::nullopt}));
  EXPECT_EQ(m.items[0].limit_kind, model_limit_kind::layers);
  EXPECT_EQ(m.items[0].limit, 2u);
  EXPECT_EQ(format_cache_model(m), "t0-3c0r2p*:L2");
  cache_model_spec r_only = model_ok("r1-");
  const auto& only_r = std::get<implicit_bins>(r_only.items[0].bins);
  EXPECT_FALSE(only_r.t);
  EXPECT_EQ(only_r.r, (uint_range{1, std::nullopt}));
}

TEST(RequestModel, CodestreamPrefixStaysOnItsItem) {
  cache_model_spec m = model_ok("[0-2]Hm,P3");
  ASSERT_EQ(m.items.size(), 2u);
  EXPECT_EQ(m.items[0].codestreams, (std::vector<sampled_range>{{0, 2, 1}}));
  EXPECT_FALSE(m.items[1].codestreams);  // applies by position: the caller carries it forward
}

TEST(RequestModel, QualifierRules) {
  EXPECT_FALSE(parse_cache_model("M0:L1"));  // :L only on precinct bins
  EXPECT_FALSE(parse_cache_model("Hm:L1"));
  EXPECT_FALSE(parse_cache_model("t0:5"));  // implicit: layers only
  EXPECT_TRUE(parse_cache_model("Hm:117"));
  EXPECT_TRUE(parse_cache_model("[1;4-9:5;7-]-P0:L1,-t1"));
}

TEST(RequestModel, Malformed) {
  for (const char* bad : {"",      ",",      "Hm,",     "X1",   "H",
                          "P-1",   "Pa",     "P1:",     "P1:L", "P1:Lx",
                          "[0-2",  "[]Hm",   "[2-1]Hm", "[0]",  "-",
                          "--P1",  "c0t1",   "t",       "tx",   "P99999999999999999999",
                          "Hm P1", "[0:0]Hm"}) {
    auto m = parse_cache_model(bad);
    EXPECT_FALSE(m) << '"' << bad << '"';
    if (!m) {
      EXPECT_EQ(m.error().code, errc::invalid_argument) << bad;
    }
  }
}

TEST(RequestModel, ModelFieldInARequestIsDecoded) {
  auto r = parse_request("cid=1&model=%5B0-2%5DHm,P3");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->model->items.size(), 2u);
  auto bad = parse_request("cid=1&model=Hm,P3:x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().offset, 18u);  // the 'x'
  EXPECT_NE(bad.error().message.find("model:"), std::string::npos);
}

TEST(RequestMetareq, FullSyntax) {
  auto r = parse_request("metareq=%5Bjp2h%5D,%5Bxml%20:r/w!;*:1024/sg%5DR3D2,%5Broid/w%5D!!");
  ASSERT_TRUE(r) << r.error().to_string();
  const metadata_request& m = *r->metareq;
  EXPECT_TRUE(m.metadata_only);
  ASSERT_EQ(m.items.size(), 3u);
  EXPECT_EQ(m.items[0].boxes[0].box_type, "jp2h");
  EXPECT_EQ(m.items[0].boxes[0].limit_kind, metareq_limit_kind::whole);
  const metareq_box& xml = m.items[1].boxes[0];
  EXPECT_EQ(xml.box_type, "xml ");
  EXPECT_EQ(xml.limit_kind, metareq_limit_kind::skeleton);
  EXPECT_EQ(xml.qualifier, metareq_window);
  EXPECT_TRUE(xml.priority);
  const metareq_box& any = m.items[1].boxes[1];
  EXPECT_EQ(any.box_type, "*");
  EXPECT_EQ(any.limit_kind, metareq_limit_kind::bytes);
  EXPECT_EQ(any.limit, 1024u);
  EXPECT_EQ(any.qualifier, metareq_stream | metareq_global);
  EXPECT_FALSE(any.priority);
  EXPECT_EQ(m.items[1].root_bin, 3u);
  EXPECT_EQ(m.items[1].max_depth, 2u);
  EXPECT_FALSE(m.items[2].root_bin);
  EXPECT_EQ(format_request(*r),
            "metareq=%5Bjp2h%5D,%5Bxml%20:r/w!;*:1024/sg%5DR3D2,%5Broid/w%5D!!");
}

TEST(RequestMetareq, Malformed) {
  for (const char* bad :
       {"metareq=", "metareq=jp2h", "metareq=[jp2h", "metareq=[xml]", "metareq=[jp2h:]",
        "metareq=[jp2h/]", "metareq=[jp2h/x]", "metareq=[jp2h]R", "metareq=[jp2h]Dx",
        "metareq=[jp2h]!", "metareq=[jp2h]!!!", "metareq=[jp2h],", "metareq=[]", "metareq=[*x]",
        "metareq=[jp2h]D2R1", "metareq=[a%00bc]"}) {
    auto r = parse_request(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, errc::invalid_argument) << bad;
    }
  }
}

}  // namespace
