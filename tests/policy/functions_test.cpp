#include "hiegate/policy/functions.hpp"

#include <gtest/gtest.h>

namespace hiegate::policy {
namespace {

TEST(Functions, NamesRoundTrip) {
  for (Function f : kAllFunctions) {
    ASSERT_EQ(parse_function(name(f)), f);
  }
  EXPECT_FALSE(parse_function("delete"));
  EXPECT_FALSE(parse_function("export_"));
}

TEST(Functions, SetOperations) {
  FunctionSet s = FunctionSet::none();
  s.insert(Function::view).insert(Function::print);
  EXPECT_TRUE(s.contains(Function::view));
  EXPECT_FALSE(s.contains(Function::serve));
  EXPECT_EQ(s.intersect(FunctionSet::all()), s);
  s.erase(Function::view);
  EXPECT_FALSE(s.contains(Function::view));
}

}  // namespace
}  // namespace hiegate::policy
