#include "hiegate/transport/identity.hpp"

#include <gtest/gtest.h>

namespace hiegate::transport {
namespace {

TEST(Identity, ParsesFacilityAndSecretariat) {
  auto f = parse_identity_uri("hie://nishitama/facility/1312345678");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, PeerIdentity::Kind::facility);
  EXPECT_EQ(f->network, "nishitama");
  EXPECT_EQ(f->facility, "1312345678");
  EXPECT_EQ(f->uri(), "hie://nishitama/facility/1312345678");
  auto s = parse_identity_uri("hie://nishitama/secretariat");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, PeerIdentity::Kind::secretariat);
}

TEST(Identity, RefusesEverythingElse) {
  for (const char* bad : {"", "hie://", "hie://nishitama", "hie://nishitama/",
                          "https://nishitama/facility/1312345678",
                          "hie://nishitama/facility/131234567",
                          "hie://nishitama/facility/13123456789",
                          "hie://nishitama/facility/131234567a",
                          "hie://nishitama/facility/1312345678/",
                          "hie://nishitama/secretariat/", "hie://Nishitama/secretariat",
                          "hie://nishitama/facility/1312345678?x", "HIE://nishitama/secretariat"}) {
    EXPECT_FALSE(parse_identity_uri(bad)) << bad;
  }
}

}  // namespace
}  // namespace hiegate::transport
