#include "hiegate/policy/dsse.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hiegate::policy {
namespace {

const std::string kSig64 = crypto::to_base64(crypto::Bytes(64, 7));

std::string envelope_with(std::string_view payload, std::string_view sig,
                          std::string_view keyid = "0123456789abcdef",
                          std::string_view extra = "") {
  return std::string(R"({"payloadType":"application/vnd.hiegate.orders+json","payload":")") +
         std::string(payload) + R"(","signatures":[{"keyid":")" + std::string(keyid) +
         R"(","sig":")" + std::string(sig) + "\"}]" + std::string(extra) + "}";
}

void expect_malformed(std::string_view bytes, const EnvelopeLimits& limits = {}) {
  auto r = decode_envelope(bytes, limits);
  ASSERT_FALSE(r.ok()) << bytes.substr(0, 200);
  EXPECT_EQ(r.error().code, "malformed");
}

TEST(Pae, MatchesTheDsseDefinition) {
  EXPECT_EQ(pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(pae("", ""), "DSSEv1 0  0 ");
  // Lengths are bytes, not characters.
  EXPECT_EQ(pae("t", "停止"), "DSSEv1 1 t 6 停止");
}

TEST(Envelope, DecodesAndRoundTrips) {
  auto r = decode_envelope(envelope_with("aGVsbG8=", kSig64));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->payload_type, "application/vnd.hiegate.orders+json");
  EXPECT_EQ(r->payload, "hello");
  ASSERT_EQ(r->signatures.size(), 1U);
  EXPECT_EQ(r->signatures[0].keyid, "0123456789abcdef");
  EXPECT_EQ(r->signatures[0].sig, crypto::Bytes(64, 7));
  auto again = decode_envelope(encode_envelope(*r));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->payload, "hello");
  EXPECT_EQ(again->signatures[0].sig, r->signatures[0].sig);
}

TEST(Envelope, ShortSignatureDecodesButIsShort) {
  // Not 64 bytes: decoding keeps it (it will just not verify).
  auto r = decode_envelope(envelope_with("aGVsbG8=", crypto::to_base64(crypto::Bytes(63, 1))));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signatures[0].sig.size(), 63U);
}

TEST(Envelope, Base64EdgeCases) {
  expect_malformed(envelope_with("aGVsbG8", kSig64));      // missing padding
  expect_malformed(envelope_with("aGVs bG8=", kSig64));    // whitespace
  expect_malformed(envelope_with("aGVsbG8=\\n", kSig64));  // escaped newline
  expect_malformed(envelope_with("aGVsbG9=", kSig64));     // non-canonical trailing bits
  expect_malformed(envelope_with("_-8=", kSig64));         // URL-safe alphabet
  expect_malformed(envelope_with("aGVsbG8=", "AAAA_w=="));
  expect_malformed(envelope_with("aGVsbG8=", "AAA"));
  expect_malformed(envelope_with("aGVsbG8=", "=AAA"));
  // An empty payload is valid base64 (the body check comes later).
  EXPECT_TRUE(decode_envelope(envelope_with("", kSig64)).ok());
}

TEST(Envelope, RefusesUnknownAndMissingMembers) {
  expect_malformed(envelope_with("aGVsbG8=", kSig64, "0123456789abcdef", R"(,"comment":"x")"));
  expect_malformed(R"({"payloadType":"t","payload":"aGVsbG8="})");
  expect_malformed(R"({"payload":"aGVsbG8=","signatures":[]})");
  expect_malformed(R"({"payloadType":1,"payload":"aGVsbG8=","signatures":[]})");
  expect_malformed(R"({"payloadType":"t","payload":"aGVsbG8=","signatures":{}})");
  expect_malformed(R"({"payloadType":"t","payload":"aGVsbG8=","signatures":[{"sig":")" + kSig64 +
                   "\"}]}");
  expect_malformed(
      R"({"payloadType":"t","payload":"aGVsbG8=","signatures":[{"keyid":"0123456789abcdef","sig":")" +
      kSig64 + R"(","x":1}]})");
  expect_malformed(R"({"payloadType":"t","payload":"aGVsbG8=","signatures":["x"]})");
  expect_malformed("[]");
  expect_malformed(R"({"payloadType":"t","payloadType":"t","payload":"","signatures":[]})");
}

TEST(Envelope, KeyidIsLowerHexOfEightBytes) {
  expect_malformed(envelope_with("aGVsbG8=", kSig64, "0123456789ABCDEF"));
  expect_malformed(envelope_with("aGVsbG8=", kSig64, "0123456789abcde"));
  expect_malformed(envelope_with("aGVsbG8=", kSig64, ""));
  EXPECT_EQ(keyid_of(crypto::Bytes(32, 0)).size(), 16U);
  // A root key of the conformance vectors and the keyid they use for it.
  EXPECT_EQ(keyid_of(crypto::from_base64("J5dxFofd395n70t7iGyKuazMIfVSsvYvl3E3C73m0R0=").value()),
            "74e294a569b924bd");
}

TEST(Envelope, EnforcesLimits) {
  const std::string ok = envelope_with("aGVsbG8=", kSig64);
  EnvelopeLimits exact{ok.size(), 16};
  EXPECT_TRUE(decode_envelope(ok, exact).ok());
  expect_malformed(ok, EnvelopeLimits{ok.size() - 1, 16});

  std::string many = R"({"payloadType":"t","payload":"","signatures":[)";
  for (int i = 0; i < 17; ++i) {
    if (i) many += ",";
    many += R"({"keyid":"0123456789abcdef","sig":")" + kSig64 + "\"}";
  }
  many += "]}";
  expect_malformed(many);
  EXPECT_TRUE(decode_envelope(many, EnvelopeLimits{65536, 17}).ok());
}

TEST(Delivery, OneEnvelopeOrAList) {
  const std::string one = envelope_with("aGVsbG8=", kSig64);
  auto single = split_delivery(" " + one);
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1U);
  EXPECT_EQ((*single)[0], " " + one);  // byte for byte

  auto list = split_delivery("[" + one + "," + envelope_with("d29ybGQ=", kSig64) + "]");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2U);
  EXPECT_EQ(decode_envelope((*list)[0])->payload, "hello");
  EXPECT_EQ(decode_envelope((*list)[1])->payload, "world");

  for (std::string_view bad : {"[]", "[1]", "\"x\"", "[{}] x", "{\"a\":1,\"a\":2}"}) {
    EXPECT_FALSE(split_delivery(bad).ok()) << bad;
  }
  EXPECT_FALSE(split_delivery("[" + one + "," + one + "]", 1).ok());
}

}  // namespace
}  // namespace hiegate::policy
