// A paradigm chosen at run time: any policy type behind one value type, so the
// CLI, the exports by name, verification and the Python package handle every
// paradigm alike. Compile-time code names the policy type itself and pays no
// indirection; here one virtual call is made per sequence (or per window of
// rows), never per token.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ism/paradigm.hpp"
#include "ism/reusable_prefix.hpp"
#include "ism/segment_function.hpp"
#include "ism/training_cost.hpp"

namespace ism {
inline namespace v0 {

class any_paradigm {
 public:
  // `name` is what users type; it defaults to the type's own name.
  template <paradigm P>
  explicit any_paradigm(P policy, std::string name = std::string(P::name))
      : model_(std::make_shared<const model<P>>(std::move(policy), std::move(name))) {
    static_assert(check_paradigm<P>(), "ism: any_paradigm needs a paradigm (see above)");
  }

  std::string_view name() const noexcept { return model_->name; }

  interval_mask intervals(const layout& sequence) const { return model_->intervals(sequence); }
  // Rows [q0, q1) of intervals(sequence); see fill_intervals.
  void fill_intervals(const layout& sequence, index_t q0, index_t q1, std::span<index_t> lo,
                      std::span<index_t> hi) const {
    model_->fill_intervals(sequence, q0, q1, lo, hi);
  }
  training_cost_report training_cost(const layout& sequence) const {
    return model_->training_cost(sequence);
  }
  index_t training_cost_work(const layout& sequence) const {
    return model_->training_cost_work(sequence);
  }
  index_t reusable_prefix(const layout& shorter, const layout& longer) const {
    return model_->reusable_prefix(shorter, longer);
  }

  // The policy object when it has type P, else null: code with a faster path
  // for a known type (a kernel templated on the paradigm) takes it from here.
  template <paradigm P>
  const P* target() const noexcept {
    return static_cast<const P*>(model_->target(type_tag<P>()));
  }

  // Paradigms are told apart by name: a registry holds one paradigm a name.
  friend bool operator==(const any_paradigm& a, const any_paradigm& b) noexcept {
    return a.name() == b.name();
  }

 private:
  struct concept_base {
    explicit concept_base(std::string n) : name(std::move(n)) {}
    virtual ~concept_base() = default;
    virtual interval_mask intervals(const layout&) const = 0;
    virtual void fill_intervals(const layout&, index_t, index_t, std::span<index_t>,
                                std::span<index_t>) const = 0;
    virtual training_cost_report training_cost(const layout&) const = 0;
    virtual index_t training_cost_work(const layout&) const = 0;
    virtual index_t reusable_prefix(const layout&, const layout&) const = 0;
    virtual const void* target(const void* tag) const noexcept = 0;
    std::string name;
  };

  template <class P>
  struct model final : concept_base {
    model(P p, std::string n) : concept_base(std::move(n)), policy(std::move(p)) {}
    interval_mask intervals(const layout& s) const override { return make_interval_mask(s, policy); }
    void fill_intervals(const layout& s, index_t q0, index_t q1, std::span<index_t> lo,
                        std::span<index_t> hi) const override {
      ism::fill_intervals(s, policy, q0, q1, lo, hi);
    }
    training_cost_report training_cost(const layout& s) const override {
      return ism::training_cost(s, policy);
    }
    index_t training_cost_work(const layout& s) const override {
      return ism::training_cost_work(s, policy);
    }
    index_t reusable_prefix(const layout& a, const layout& b) const override {
      return ism::reusable_prefix(a, b, policy);
    }
    const void* target(const void* tag) const noexcept override {
      return tag == type_tag<P>() ? &policy : nullptr;
    }
    P policy;
  };

  // One address per type, without RTTI. Writable, so no linker folds the
  // tags of two types into one.
  template <class P>
  static const void* type_tag() noexcept {
    static char tag;
    return &tag;
  }

  std::shared_ptr<const concept_base> model_;
};

inline interval_mask make_interval_mask(const layout& sequence, const any_paradigm& p) {
  return p.intervals(sequence);
}

inline void fill_intervals(const layout& sequence, const any_paradigm& p, index_t q0, index_t q1,
                           std::span<index_t> lo, std::span<index_t> hi) {
  p.fill_intervals(sequence, q0, q1, lo, hi);
}

inline training_cost_report training_cost(const layout& sequence, const any_paradigm& p) {
  return p.training_cost(sequence);
}

inline index_t reusable_prefix(const layout& shorter, const layout& longer,
                               const any_paradigm& p) {
  return p.reusable_prefix(shorter, longer);
}

}  // namespace v0
}  // namespace ism
