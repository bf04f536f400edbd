// parse_request(): every field, and the exact requests known clients send (docs/jpip-notes.md
// §11.3-6).
#include <gtest/gtest.h>

#include "pipit/request.hpp"

namespace {

using namespace pipit;

jpip_request parse_ok(std::string_view q) {
  auto r = parse_request(q);
  EXPECT_TRUE(r) << q << ": " << (r ? "" : r.error().to_string());
  return r ? *r : jpip_request{};
}

TEST(RequestParser, EmptyQueryIsAnEmptyRequest) { EXPECT_EQ(parse_ok(""), jpip_request{}); }

TEST(RequestParser, GdalJpipkakFirstRequest) {
  jpip_request r = parse_ok("cnew=http&type=jpp-stream&stream=0&tid=0&len=2000");
  ASSERT_TRUE(r.cnew);
  EXPECT_TRUE(r.cnew->has_http());
  ASSERT_TRUE(r.type);
  EXPECT_TRUE(r.type->jpp_stream());
  EXPECT_FALSE(r.type->jpt_stream());
  ASSERT_TRUE(r.stream);
  EXPECT_EQ(*r.stream, (std::vector<sampled_range>{{0, 0, 1}}));
  EXPECT_EQ(r.tid, "0");
  EXPECT_EQ(r.len, 2000u);
  EXPECT_FALSE(r.cid);
  EXPECT_FALSE(r.fsiz);
}

TEST(RequestParser, GdalJpipkakFollowUpAndViewRequests) {
  jpip_request r = parse_ok("cid=DC69DF980A641A4BBDEB50E484A66578&stream=0&len=2000");
  EXPECT_EQ(r.cid, "DC69DF980A641A4BBDEB50E484A66578");
  r = parse_ok(
      "cid=DC69DF980A641A4BBDEB50E484A66578&type=jpp-stream&roff=16,32&rsiz=640,480"
      "&fsiz=1280,960,closest&quality=3&comps=0,1,2");
  EXPECT_EQ(r.roff, (point{16, 32}));
  EXPECT_EQ(r.rsiz, (point{640, 480}));
  EXPECT_EQ(r.fsiz, (frame_size{1280, 960, round_direction::closest}));
  EXPECT_EQ(r.quality, 3);
  EXPECT_EQ(r.comps, (std::vector<uint_range>{{0, 0}, {1, 1}, {2, 2}}));
}

TEST(RequestParser, JHelioviewerOpenAndClose) {
  jpip_request r = parse_ok("cnew=http&type=jpp-stream&tid=0&len=512");
  EXPECT_TRUE(r.cnew->has_http());
  EXPECT_EQ(r.len, 512u);
  r = parse_ok("cclose=3f2a9c&len=0");
  ASSERT_TRUE(r.cclose);
  EXPECT_FALSE(r.cclose->all);
  EXPECT_EQ(r.cclose->ids, (std::vector<std::string>{"3f2a9c"}));
  EXPECT_EQ(r.len, 0u);
}

TEST(RequestParser, WebjpipRequests) {
  jpip_request r = parse_ok(
      "type=jpp-stream&stream=0&tid=img.jp2&wait=no&fsiz=1024,768,closest&rsiz=256,256"
      "&roff=512,256&layers=4&len=40960&qid=2&cnew=http&cid=ch1");
  EXPECT_EQ(r.tid, "img.jp2");
  EXPECT_EQ(r.wait, false);
  EXPECT_EQ(r.layers, 4u);
  EXPECT_EQ(r.qid, 2u);
  EXPECT_EQ(r.cid, "ch1");
  EXPECT_TRUE(r.cnew->has_http());
  r = parse_ok("type=jpp-stream&stream=0&cclose=*&cid=ch1");
  EXPECT_TRUE(r.cclose->all);
  EXPECT_TRUE(r.cclose->ids.empty());
  r = parse_ok("cid=ch1&wait=yes&len=10240&qid=0");
  EXPECT_EQ(r.wait, true);
  EXPECT_EQ(r.qid, 0u);
}

TEST(RequestParser, TargetIsPercentDecodedAndPlusIsLiteral) {
  jpip_request r = parse_ok("target=images%2Fmy%20file+v2.jp2");
  EXPECT_EQ(r.target, "images/my file+v2.jp2");
  EXPECT_EQ(parse_ok("target=caf%C3%A9.jp2").target, "caf\xC3\xA9.jp2");
  EXPECT_EQ(parse_ok("target=%7e%7E").target, "~~");
}

TEST(RequestParser, FsizRoundDirections) {
  EXPECT_EQ(parse_ok("fsiz=640,480").fsiz, (frame_size{640, 480, round_direction::round_down}));
  EXPECT_EQ(parse_ok("fsiz=640,480,round-down").fsiz->round, round_direction::round_down);
  EXPECT_EQ(parse_ok("fsiz=640,480,round-up").fsiz->round, round_direction::round_up);
  EXPECT_EQ(parse_ok("fsiz=640,480,closest").fsiz->round, round_direction::closest);
  EXPECT_EQ(parse_ok("fsiz=4294967295,0").fsiz, (frame_size{4294967295u, 0}));
}

TEST(RequestParser, ViewWindowFields) {
  jpip_request r = parse_ok("fsiz=128,128&roff=64,64&rsiz=32,32&comps=0,2-3,5-&layers=3");
  EXPECT_EQ(r.roff, (point{64, 64}));
  EXPECT_EQ(r.rsiz, (point{32, 32}));
  std::vector<uint_range> comps{{0, 0}, {2, 3}, {5, std::nullopt}};
  EXPECT_EQ(r.comps, comps);
  EXPECT_TRUE((*r.comps)[2].contains(1000));
  EXPECT_FALSE((*r.comps)[1].contains(4));
}

TEST(RequestParser, StreamSampledRanges) {
  jpip_request r = parse_ok("stream=0,2-10:2,7-,3-:5,4-4");
  std::vector<sampled_range> want{
      {0, 0, 1}, {2, 10, 2}, {7, std::nullopt, 1}, {3, std::nullopt, 5}, {4, 4, 1}};
  EXPECT_EQ(r.stream, want);
  EXPECT_TRUE(want[1].contains(6));
  EXPECT_FALSE(want[1].contains(7));
}

TEST(RequestParser, ChannelFields) {
  jpip_request r = parse_ok("cnew=http-tcp,http&cid=abc");
  EXPECT_EQ(r.cnew->transports, (std::vector<std::string>{"http-tcp", "http"}));
  EXPECT_TRUE(r.cnew->has_http());
  EXPECT_FALSE(parse_ok("cnew=http-tcp").cnew->has_http());
  EXPECT_EQ(parse_ok("cclose=a,b,c").cclose->ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(parse_ok("qid=18446744073709551615").qid, 18446744073709551615u);
}

TEST(RequestParser, ReturnTypes) {
  jpip_request r = parse_ok("type=jpp-stream;ptype=ext,jpt-stream;ttype=ext,raw,image/jpeg");
  ASSERT_TRUE(r.type);
  EXPECT_FALSE(r.type->jpp_stream());
  EXPECT_TRUE(r.type->jpp_stream_ext());
  EXPECT_TRUE(r.type->jpt_stream_ext());
  EXPECT_TRUE(r.type->raw());
  ASSERT_EQ(r.type->items.size(), 4u);
  EXPECT_EQ(r.type->items[3].name, "image/jpeg");
  EXPECT_EQ(r.type->items[0].params, "ptype=ext");
  EXPECT_TRUE(parse_ok("type=jpt-stream").type->jpt_stream());
}

TEST(RequestParser, ServerControlAndLimits) {
  jpip_request r = parse_ok("wait=yes&align=no&len=18446744073709551615&quality=100");
  EXPECT_EQ(r.wait, true);
  EXPECT_EQ(r.align, false);
  EXPECT_EQ(r.len, 18446744073709551615u);
  EXPECT_EQ(r.quality, 100);
  EXPECT_EQ(parse_ok("quality=0").quality, 0);
}

TEST(RequestParser, ContextJpxLayers) {
  jpip_request r = parse_ok("context=jpxl%3C0-3%3E");
  ASSERT_TRUE(r.context);
  EXPECT_EQ(r.context->raw, "jpxl<0-3>");
  EXPECT_EQ(r.context->jpx_layers, (std::vector<sampled_range>{{0, 3, 1}}));
  r = parse_ok("context=jpxl<1,4-8:2>[s0],mj2t<1>,jpxl<9->");
  std::vector<sampled_range> want{{1, 1, 1}, {4, 8, 2}, {9, std::nullopt, 1}};
  EXPECT_EQ(r.context->jpx_layers, want);
  EXPECT_EQ(r.context->raw, "jpxl<1,4-8:2>[s0],mj2t<1>,jpxl<9->");
}

TEST(RequestParser, RecordedFieldsKeepDecodedText) {
  jpip_request r = parse_ok(
      "cap=config,type%3Djpp-stream&pref=fullwindow/r&csf=x&handled=&srate=2.5&roi=dynamic"
      "&drate=1.5");
  EXPECT_EQ(r.cap, "config,type=jpp-stream");
  EXPECT_EQ(r.pref, "fullwindow/r");
  EXPECT_EQ(r.csf, "x");
  EXPECT_EQ(r.handled, "");
  EXPECT_EQ(r.srate, "2.5");
  EXPECT_EQ(r.roi, "dynamic");
  EXPECT_EQ(r.drate, "1.5");
}

TEST(RequestParser, LeadingZerosAreNumbers) {
  EXPECT_EQ(parse_ok("len=000123").len, 123u);
  EXPECT_EQ(parse_ok("layers=0").layers, 0u);
}

}  // namespace
