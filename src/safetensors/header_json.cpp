#include "safetensors/header_json.h"

#include <nlohmann/json.hpp>
#include <unordered_set>

namespace hubload::safetensors_internal {
namespace {

using json = nlohmann::json;

// Walks the SAX events with an explicit state; any unexpected event stores a
// message and returns false, which stops nlohmann's parser at once.
class HeaderSax {
 public:
  HeaderSax(const ReaderOptions& options) : options_(options) {}

  RawHeader header;
  std::string error;

  bool null() { return scalar("null"); }
  bool boolean(bool) { return scalar("a boolean"); }
  bool number_integer(json::number_integer_t v) {
    if (v >= 0) return number_unsigned(static_cast<std::uint64_t>(v));
    return fail(where() + " holds the negative number " + std::to_string(v) +
                ", expected a non-negative integer");
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (state_ == State::shape) {
      current_.shape.push_back(v);
      return true;
    }
    if (state_ == State::offsets) {
      if (offsets_seen_ >= 2) return fail(where() + " has more than two entries");
      (offsets_seen_ == 0 ? current_.begin : current_.end) = v;
      ++offsets_seen_;
      return true;
    }
    return scalar("a number");
  }
  bool number_float(json::number_float_t, const std::string& text) {
    if (state_ == State::shape || state_ == State::offsets) {
      return fail(where() + " holds " + text +
                  ", expected a non-negative integer no larger than 18446744073709551615");
    }
    return scalar("a number");
  }
  bool binary(json::binary_t&) { return fail("unexpected binary value"); }

  bool string(std::string& s) {
    switch (state_) {
      case State::meta_value:
        header.metadata.emplace(key_, std::move(s));
        state_ = State::meta_key;
        return true;
      case State::tensor_value:
        if (field_ == Field::dtype) {
          auto dtype = dtype_from_string(s);
          if (!dtype) return fail(tensor_where() + ": unknown dtype \"" + s + "\"");
          current_.dtype = *dtype;
          state_ = State::tensor_key;
          return true;
        }
        if (field_ == Field::other) {
          state_ = State::tensor_key;
          return true;
        }
        return scalar("a string");
      default:
        return scalar("a string");
    }
  }

  bool start_object(std::size_t) {
    switch (state_) {
      case State::start:
        state_ = State::top_key;
        return true;
      case State::top_value:
        if (key_ == "__metadata__") {
          state_ = State::meta_key;
          meta_keys_.clear();
        } else {
          current_ = RawTensor{};
          current_.name = key_;
          seen_fields_ = 0;
          state_ = State::tensor_key;
        }
        return true;
      case State::skip:
        ++skip_depth_;
        return true;
      case State::tensor_value:
        if (field_ == Field::other) return begin_skip();
        return scalar("an object");
      default:
        return scalar("an object");
    }
  }

  bool key(std::string& k) {
    switch (state_) {
      case State::top_key:
        if (k.size() > options_.max_name_bytes) {
          return fail("a tensor name is " + std::to_string(k.size()) + " bytes long, above the " +
                      std::to_string(options_.max_name_bytes) + "-byte limit");
        }
        if (!top_keys_.insert(k).second) {
          return fail(k == "__metadata__" ? std::string("duplicate \"__metadata__\" key")
                                          : "duplicate tensor name '" + k + "'");
        }
        if (k != "__metadata__" && header.tensors.size() >= options_.max_tensors) {
          return fail("more than " + std::to_string(options_.max_tensors) + " tensors");
        }
        key_ = std::move(k);
        state_ = State::top_value;
        return true;
      case State::meta_key:
        if (!meta_keys_.insert(k).second) return fail("duplicate \"__metadata__\" key \"" + k + "\"");
        key_ = std::move(k);
        state_ = State::meta_value;
        return true;
      case State::tensor_key: {
        unsigned bit = 0;
        if (k == "dtype") { field_ = Field::dtype; bit = 1; }
        else if (k == "shape") { field_ = Field::shape; bit = 2; }
        else if (k == "data_offsets") { field_ = Field::offsets; bit = 4; }
        else field_ = Field::other;  // the reference reader ignores unknown fields
        if (bit != 0 && (seen_fields_ & bit) != 0) {
          return fail(tensor_where() + ": duplicate field \"" + k + "\"");
        }
        seen_fields_ |= bit;
        field_name_ = std::move(k);
        state_ = State::tensor_value;
        return true;
      }
      case State::skip:
        return true;
      default:
        return fail("unexpected key \"" + k + "\"");
    }
  }

  bool end_object() {
    switch (state_) {
      case State::top_key:
        state_ = State::done;
        return true;
      case State::meta_key:
        state_ = State::top_key;
        return true;
      case State::tensor_key:
        if ((seen_fields_ & 1) == 0) return fail(tensor_where() + ": missing \"dtype\"");
        if ((seen_fields_ & 2) == 0) return fail(tensor_where() + ": missing \"shape\"");
        if ((seen_fields_ & 4) == 0) return fail(tensor_where() + ": missing \"data_offsets\"");
        header.tensors.push_back(std::move(current_));
        state_ = State::top_key;
        return true;
      case State::skip:
        return end_skip();
      default:
        return fail("unexpected end of object");
    }
  }

  bool start_array(std::size_t) {
    if (state_ == State::skip) {
      ++skip_depth_;
      return true;
    }
    if (state_ == State::tensor_value) {
      if (field_ == Field::shape) {
        state_ = State::shape;
        return true;
      }
      if (field_ == Field::offsets) {
        offsets_seen_ = 0;
        state_ = State::offsets;
        return true;
      }
      if (field_ == Field::other) return begin_skip();
    }
    return scalar("an array");
  }

  bool end_array() {
    switch (state_) {
      case State::shape:
        state_ = State::tensor_key;
        return true;
      case State::offsets:
        if (offsets_seen_ != 2) return fail(where() + " has " + std::to_string(offsets_seen_) +
                                            " entries, expected exactly two [BEGIN, END]");
        state_ = State::tensor_key;
        return true;
      case State::skip:
        return end_skip();
      default:
        return fail("unexpected end of array");
    }
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    if (error.empty()) {
      error = "header is not valid JSON at byte " + std::to_string(position) + " of the header: " + ex.what();
    }
    return false;
  }

 private:
  enum class State { start, top_key, top_value, meta_key, meta_value, tensor_key, tensor_value,
                     shape, offsets, skip, done };
  enum class Field { dtype, shape, offsets, other };

  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }

  std::string tensor_where() const { return "tensor '" + current_.name + "'"; }

  std::string where() const {
    switch (state_) {
      case State::shape: return tensor_where() + ": \"shape\"";
      case State::offsets: return tensor_where() + ": \"data_offsets\"";
      default: return "header";
    }
  }

  // A scalar event: accepted only where the skipped unknown field takes it;
  // otherwise an error naming what was expected where.
  bool scalar(const char* what) {
    switch (state_) {
      case State::skip:
        return true;
      case State::tensor_value:
        if (field_ == Field::other) {
          state_ = State::tensor_key;
          return true;
        }
        return fail(tensor_where() + ": \"" + field_name_ + "\" is " + what + ", expected " +
                    (field_ == Field::dtype ? "a dtype string" : "an array of integers"));
      case State::start:
        return fail(std::string("header is ") + what + ", expected a JSON object");
      case State::top_value:
        return fail(key_ == "__metadata__"
                        ? std::string("\"__metadata__\" is ") + what + ", expected an object of strings"
                        : "tensor '" + key_ + "' is " + what + ", expected an object");
      case State::meta_value:
        return fail("\"__metadata__\" value \"" + key_ + "\" is " + what + ", expected a string");
      case State::shape:
      case State::offsets:
        return fail(where() + " holds " + what + ", expected non-negative integers");
      default:
        return fail(std::string("unexpected ") + what);
    }
  }

  bool begin_skip() {
    state_ = State::skip;
    skip_depth_ = 1;
    return true;
  }
  bool end_skip() {
    if (--skip_depth_ == 0) state_ = State::tensor_key;
    return true;
  }

  const ReaderOptions& options_;
  State state_ = State::start;
  Field field_ = Field::other;
  std::string key_;
  std::string field_name_;
  RawTensor current_;
  unsigned seen_fields_ = 0;
  int offsets_seen_ = 0;
  std::size_t skip_depth_ = 0;
  std::unordered_set<std::string> top_keys_;
  std::unordered_set<std::string> meta_keys_;
};

}  // namespace

Result<RawHeader> parse_header_json(std::string_view text, const ReaderOptions& options,
                                    std::string_view source) {
  HeaderSax sax(options);
  bool ok = false;
  try {
    // strict = true: anything but whitespace after the object is an error.
    ok = json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json, true, false);
  } catch (const std::exception& e) {
    // sax_parse reports through parse_error; this only guards allocation failures.
    sax.error = std::string("header could not be parsed: ") + e.what();
  }
  if (!ok) {
    if (sax.error.empty()) sax.error = "header is not a valid safetensors JSON object";
    return invalid_input(std::string(source) + ": " + sax.error);
  }
  return std::move(sax.header);
}

}  // namespace hubload::safetensors_internal
