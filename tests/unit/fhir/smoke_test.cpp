#include <gtest/gtest.h>
#include "junction/fhir/convert.h"
TEST(FhirSmoke, Builds) { SUCCEED(); }
