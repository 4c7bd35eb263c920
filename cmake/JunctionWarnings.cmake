# Warnings applied to every Junction target (not to third-party code).
add_library(junction_warnings INTERFACE)
target_compile_options(junction_warnings INTERFACE -Wall -Wextra -Wpedantic
  -Wnon-virtual-dtor -Wimplicit-fallthrough
  # Designated initializers that leave members at their defaults are idiomatic here.
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(junction_warnings INTERFACE -Wshadow=local)
endif()
if(JUNCTION_WERROR)
  target_compile_options(junction_warnings INTERFACE -Werror)
endif()
