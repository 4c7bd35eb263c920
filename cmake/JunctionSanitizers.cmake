# ASan + UBSan for the test build. Applied globally so every object agrees on the ABI.
if(JUNCTION_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
