// Self-written sample messages for the benchmarks (no patient data; made up).
#pragma once

#include <string>

namespace junction::bench {

// An ORU^R01 of about 2 KB: MSH, PID with repetitions, PV1, ORC, OBR, 12 OBX (some
// with escapes and subcomponents), NTE. Segments end with "\r".
std::string OruR01Sample();

// An ADT^A01 of about 1 KB.
std::string AdtA01Sample();

}  // namespace junction::bench
