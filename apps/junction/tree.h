// Tree view of a message: one line per non-empty field, component and
// subcomponent, named from the HL7 dictionary of the message's version.
#pragma once

#include <string>

#include "junction/hl7/message.h"

namespace junction::cli {

void AppendTree(const hl7::Message& m, std::string* out);

}  // namespace junction::cli
