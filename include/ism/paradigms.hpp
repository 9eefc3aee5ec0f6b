// The built-in paradigms (causal, prefix, ism, bidirectional and the
// data-driven bidirectional-roles family) and choosing any paradigm by name at
// run time. Compile-time code names the policy type directly.
#pragma once

#include "ism/any_paradigm.hpp"
#include "ism/paradigm_registry.hpp"
#include "ism/paradigms/bidirectional.hpp"
#include "ism/paradigms/bidirectional_roles.hpp"
#include "ism/paradigms/causal.hpp"
#include "ism/paradigms/ism.hpp"
#include "ism/paradigms/prefix.hpp"
