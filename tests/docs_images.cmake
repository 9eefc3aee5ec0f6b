# Checks that every picture in docs/images/ is exactly what `ism show --svg`
# draws today, so the docs cannot drift from the code. Redraw them with
#   cmake -DISM_CLI=build/test/tools/ism -DISM_SOURCE_DIR=. -DUPDATE=ON -P tests/docs_images.cmake
foreach(var ISM_CLI ISM_SOURCE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "docs_images.cmake needs -D${var}=...")
  endif()
endforeach()

set(dialogue "system:3, user:4, assistant:5, user:3, assistant:4")
# Each entry: image name = paradigm = layout.
set(images
  "causal=causal=${dialogue}"
  "prefix=prefix=${dialogue}"
  "ism=ism=${dialogue}"
  "bidirectional=bidirectional=${dialogue}"
  "ism-packed=ism=system:3, user:4, assistant:5 | user:3, tool:2, assistant:4"
)

# Checks draw into the working directory (ctest runs in the build tree);
# updates draw straight over the committed pictures.
set(work_dir ${CMAKE_CURRENT_BINARY_DIR}/docs_images)
if(NOT UPDATE)
  file(MAKE_DIRECTORY ${work_dir})
endif()
set(stale "")
foreach(entry IN LISTS images)
  string(REPLACE "=" ";" fields "${entry}")
  list(GET fields 0 name)
  list(GET fields 1 paradigm)
  list(GET fields 2 layout)
  set(committed ${ISM_SOURCE_DIR}/docs/images/${name}.svg)
  if(UPDATE)
    set(drawn ${committed})
  else()
    set(drawn ${work_dir}/${name}.svg)
  endif()
  execute_process(
    COMMAND ${ISM_CLI} show --layout ${layout} --paradigm ${paradigm} --svg ${drawn}
    OUTPUT_QUIET RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "ism show failed (${status}) for ${name}")
  endif()
  if(NOT UPDATE)
    file(SHA256 ${drawn} drawn_hash)
    if(EXISTS ${committed})
      file(SHA256 ${committed} committed_hash)
    else()
      set(committed_hash missing)
    endif()
    if(NOT drawn_hash STREQUAL committed_hash)
      list(APPEND stale ${name}.svg)
    endif()
  endif()
endforeach()

if(stale)
  message(FATAL_ERROR "docs/images is out of date (${stale}); redraw with the command at the top of "
                      "tests/docs_images.cmake")
endif()
