# The Python loader examples (examples/python/) against real exports: for each
# format, examples/python/run_examples.py exports a small packed layout with the
# CLI under every paradigm and runs load_<format>.py on it.
#   python_<format>         decodes each export with NumPy and checks it against
#                           the intervals export (and that against docs/semantics.md)
#   python_<format>_engine  does the same and hands the arrays to the engine;
#                           SKIPPED where the engine is not installed or needs a
#                           GPU this machine lacks
# Without NumPy every test reports SKIPPED with the reason. They run in the
# sanitizer build too: there they put the sanitized export code of every format
# through every paradigm.
if(NOT TARGET ism_cli)
  return()
endif()

set(ISM_PYTHON "" CACHE FILEPATH
    "Python 3 interpreter for the loader examples in examples/python (they need NumPy)")

# Debian's python3-numpy serves /usr/bin/python3, which a python3 found first on
# PATH (pyenv, a venv) may not see, so it is tried first. Without an interpreter
# that imports NumPy the first one found runs the tests, which then skip.
set(_ism_python "${ISM_PYTHON}")
if(NOT _ism_python)
  find_program(_ism_path_python NAMES python3 NO_CACHE)
  set(_ism_candidates "")
  foreach(_candidate IN ITEMS /usr/bin/python3 ${_ism_path_python})
    if(EXISTS "${_candidate}")
      list(APPEND _ism_candidates "${_candidate}")
    endif()
  endforeach()
  foreach(_candidate IN LISTS _ism_candidates)
    execute_process(COMMAND "${_candidate}" -c "import numpy"
                    RESULT_VARIABLE _ism_no_numpy OUTPUT_QUIET ERROR_QUIET)
    if(_ism_no_numpy EQUAL 0)
      set(_ism_python "${_candidate}")
      break()
    endif()
  endforeach()
  if(NOT _ism_python AND _ism_candidates)
    list(GET _ism_candidates 0 _ism_python)
    message(STATUS "ism: no Python 3 with NumPy found; the python_* tests will be skipped "
                   "(install NumPy, or set ISM_PYTHON)")
  endif()
endif()

set(_ism_formats dense additive intervals flex flashinfer flashmask hf vllm llamacpp cu_seqlens
                 flashinfer_ranges cudnn_endpoints magi vllm_ids fa4_block_sparse)
# Formats whose example has no engine step: llama.cpp takes its KQ mask in C++
# only; the FlashInfer ranges wrapper, cuDNN's flex attention, MagiAttention and
# FlashAttention-4 run on CUDA GPUs only; no vLLM API takes vllm_ids.
set(_ism_numpy_only llamacpp flashinfer_ranges cudnn_endpoints magi vllm_ids fa4_block_sparse)
foreach(_format IN LISTS _ism_formats)
  set(_tests python_${_format})
  if(NOT _format IN_LIST _ism_numpy_only)
    list(APPEND _tests python_${_format}_engine)
  endif()
  foreach(_test IN LISTS _tests)
    if(_test MATCHES "_engine$")
      set(_engine required)
    else()
      set(_engine off)
    endif()
    if(_ism_python)
      add_test(NAME ${_test}
        COMMAND "${_ism_python}" ${PROJECT_SOURCE_DIR}/examples/python/run_examples.py
                --cli $<TARGET_FILE:ism_cli> --format ${_format} --engine ${_engine}
                --work-dir ${CMAKE_CURRENT_BINARY_DIR}/python_examples/${_test})
      set_tests_properties(${_test} PROPERTIES LABELS python SKIP_RETURN_CODE 77)
    else()
      add_test(NAME ${_test}
        COMMAND ${CMAKE_COMMAND} -E echo
                "skipped: no Python 3 interpreter found; set ISM_PYTHON to one with NumPy")
      set_tests_properties(${_test} PROPERTIES LABELS python
                           SKIP_REGULAR_EXPRESSION "skipped: no Python 3 interpreter")
    endif()
  endforeach()
endforeach()
