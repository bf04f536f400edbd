// Malformed requests: the error kind (400 vs 501 for the server), the offset, the message.
#include <gtest/gtest.h>

#include "pipit/request.hpp"

namespace {

using namespace pipit;

error parse_error(std::string_view q) {
  auto r = parse_request(q);
  EXPECT_FALSE(r) << q;
  return r ? error{} : r.error();
}

TEST(RequestErrors, MessageNamesFieldAndValueWithQueryOffset) {
  error e = parse_error("len=10&fsiz=12,a");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.offset, 15u);  // the 'a'
  EXPECT_EQ(e.message, "fsiz: expected fx,fy[,round-up|round-down|closest], got \"12,a\"");
  EXPECT_EQ(e.to_string(),
            "invalid argument at byte 15: fsiz: expected fx,fy[,round-up|round-down|closest], "
            "got \"12,a\"");
}

TEST(RequestErrors, OffsetsAccountForPercentEscapes) {
  error e = parse_error("comps=%30%2C%78");  // "0,x": the x is the escape at byte 12
  EXPECT_EQ(e.offset, 12u);
  EXPECT_NE(e.message.find("comps:"), std::string::npos);
}

TEST(RequestErrors, Overflow) {
  error e = parse_error("len=99999999999999999999");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.offset, 4u);
  EXPECT_EQ(e.message,
            "len: number 99999999999999999999 is out of range (max 18446744073709551615), got "
            "\"99999999999999999999\"");
  EXPECT_EQ(parse_error("fsiz=4294967296,1").code, errc::invalid_argument);
  EXPECT_EQ(parse_error("layers=4294967296").code, errc::invalid_argument);
  EXPECT_EQ(parse_error("quality=101").code, errc::invalid_argument);
  EXPECT_EQ(parse_error("stream=0-99999999999").code, errc::invalid_argument);
  EXPECT_EQ(parse_error("len=18446744073709551616").code, errc::invalid_argument);
}

TEST(RequestErrors, FieldStructure) {
  EXPECT_EQ(parse_error("=5").message, "empty field name before '='");
  EXPECT_EQ(parse_error("len=5&").offset, 6u);
  EXPECT_EQ(parse_error("&len=5").offset, 0u);
  EXPECT_EQ(parse_error("len=5&&cid=1").offset, 6u);
  error e = parse_error("cid=1&len");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.offset, 9u);
  EXPECT_EQ(e.message, "len: missing '=' and value (expected an unsigned integer)");
  EXPECT_EQ(parse_error("len=").code, errc::invalid_argument);
}

TEST(RequestErrors, UnknownAndRepeatedFields) {
  error e = parse_error("len=1&fsize=1,1");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.offset, 6u);
  EXPECT_EQ(e.message, "fsize: unknown field");
  EXPECT_EQ(parse_error("LEN=1").message, "LEN: unknown field");  // names are case-sensitive
  e = parse_error("len=1&cid=2&len=1");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.offset, 12u);
  EXPECT_EQ(e.message, "len: repeated field (first at byte 0)");
}

TEST(RequestErrors, UnsupportedFieldsAre501) {
  for (const char* q :
       {"upload=jpp-stream", "need=P1", "tpneed=1", "tpmodel=1.0", "subtarget=0-100", "mset=0"}) {
    error e = parse_error(q);
    EXPECT_EQ(e.code, errc::unsupported) << q;
    EXPECT_EQ(e.offset, 0u);
  }
  EXPECT_EQ(parse_error("cid=1&upload=jpp-stream").message,
            "upload: field not supported by this server");
}

TEST(RequestErrors, BadPercentEscapes) {
  for (const char* q : {"target=a%", "target=a%4", "target=a%4g", "target=%%41", "target=%G0"}) {
    error e = parse_error(q);
    EXPECT_EQ(e.code, errc::invalid_argument) << q;
    EXPECT_NE(e.message.find("target: bad percent escape"), std::string::npos) << e.message;
  }
  EXPECT_EQ(parse_error("cid=1&target=ab%zz").offset, 15u);
}

TEST(RequestErrors, MalformedValuesAre400) {
  for (const char* q : {"fsiz=1",
                        "fsiz=1,",
                        "fsiz=,1",
                        "fsiz=1,2,",
                        "fsiz=1,2,up",
                        "fsiz=1,2,round-down,x",
                        "fsiz=-1,2",
                        "fsiz=1,2,Round-Up",
                        "fsiz=1%2C2%2Croundup",
                        "fsiz=+1,2",
                        "fsiz=1 ,2",
                        "roff=1,2",
                        "fsiz=9,9&rsiz=1",
                        "fsiz=9,9&roff=1,2,3",
                        "comps=",
                        "comps=1,",
                        "comps=3-1",
                        "comps=a",
                        "comps=*",
                        "stream=1:0",
                        "stream=2-1",
                        "stream=1::2",
                        "layers=-1",
                        "layers=1.5",
                        "len=0x10",
                        "len= 1",
                        "quality=-1",
                        "qid=",
                        "wait=true",
                        "wait=YES",
                        "align=",
                        "type=",
                        "type=jpp-stream;",
                        "type=jpp-stream;ptype=x",
                        "type=raw;x=y",
                        "type=jpp stream",
                        "type=,jpp-stream",
                        "cnew=",
                        "cnew=http,",
                        "cnew=ht tp",
                        "cclose=",
                        "cclose=*,a",
                        "cclose=a,*",
                        "cclose=a,,b",
                        "cid=",
                        "cid=a,b",
                        "cid=a%20b",
                        "tid=",
                        "tid=a%0Ab",
                        "target=",
                        "target=a%00b",
                        "target=a%7Fb",
                        "context=",
                        "context=jpxl",
                        "context=jpxl<",
                        "context=jpxl<1",
                        "context=jpxl<a>",
                        "context=jpxl<3-1>",
                        "context=<1>",
                        "context=jpxl<1>x",
                        "context=mj2t<1",
                        "context=jpxl<1>[s",
                        "model=",
                        "model=Q1",
                        "metareq=[x]"}) {
    auto r = parse_request(q);
    EXPECT_FALSE(r) << q;
    if (!r) {
      EXPECT_EQ(r.error().code, errc::invalid_argument) << q << ": " << r.error().message;
    }
  }
}

TEST(RequestErrors, RoffRsizNeedFsiz) {
  error e = parse_error("len=1&roff=1,2");
  EXPECT_EQ(e.offset, 6u);
  EXPECT_EQ(e.message, "roff: only valid together with fsiz");
  EXPECT_EQ(parse_error("rsiz=1,2&len=1").message, "rsiz: only valid together with fsiz");
  EXPECT_TRUE(parse_request("rsiz=1,2&roff=0,0&fsiz=9,9"));  // order does not matter
}

TEST(RequestErrors, LongValuesAreCutInMessages) {
  std::string q = "fsiz=1,2," + std::string(500, 'x');
  error e = parse_error(q);
  EXPECT_LT(e.message.size(), 200u);
  EXPECT_NE(e.message.find("...\""), std::string::npos);
  e = parse_error("tid=%01");
  EXPECT_NE(e.message.find("\\x01"), std::string::npos) << e.message;
}

}  // namespace
