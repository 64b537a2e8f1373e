// The header rules of safetensors.md §4 and the test vectors of §10, one case per
// rule, each asserting the kind and that the message names the file and tensor.
#include <gtest/gtest.h>

#include <random>

#include "hubload/safetensors.h"
#include "support/safetensors_gen.h"
#include "support/test_support.h"

using namespace std::string_literals;
namespace hubload {
namespace {

using testing::raw_safetensors;

constexpr std::string_view kSource = "model-x.safetensors";

const std::string H60 = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";
const std::string H60z = R"({"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}})";
const std::string H60i = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}})";
const std::string H56s = R"({"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})";
const std::string H95m =
    R"({"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";
const std::string H122 =
    R"({"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}})";
const std::string H64f = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
const std::string H65f = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
const std::string H60q = R"({"attn.0":{"dtype":"F4","shape":[1,2],"data_offsets":[0,1]}})";
const std::string H35m = R"({"__metadata__":{"framework":"pt"}})";
const std::string H79o = R"({"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}})";
const std::string H78o = R"({"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}})";

std::string zeros(std::size_t n) { return std::string(n, '\0'); }
std::string spaces(std::size_t n) { return std::string(n, ' '); }
std::string f6() {
  const unsigned char b[] = {0, 0, 0, 0, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xA0, 0x40};
  return std::string(reinterpret_cast<const char*>(b), sizeof b);
}

Result<SafetensorsHeader> parse(const std::string& bytes, const ReaderOptions& options = {}) {
  return parse_header(std::as_bytes(std::span(bytes.data(), bytes.size())), bytes.size(), options, kSource);
}

// Asserts an invalid_input error whose message holds every fragment.
void expect_invalid(const Result<SafetensorsHeader>& r, std::initializer_list<std::string_view> fragments) {
  ASSERT_FALSE(r) << "expected an error";
  EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input) << r.error().to_string();
  EXPECT_NE(r.error().message().find(kSource), std::string::npos) << r.error().message();
  for (std::string_view f : fragments) {
    EXPECT_NE(r.error().message().find(f), std::string::npos) << "missing '" << f << "' in " << r.error().message();
  }
}

// ---- §10.1 valid files -------------------------------------------------------

TEST(SafetensorsHeaderVectors, V1_OneI32Tensor) {
  auto r = parse(raw_safetensors(H60, zeros(16)));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->tensors.size(), 1u);
  EXPECT_EQ(r->tensors[0].name, "test");
  EXPECT_EQ(r->tensors[0].dtype, DType::I32);
  EXPECT_EQ(r->tensors[0].shape, (std::vector<std::uint64_t>{2, 2}));
  EXPECT_EQ(r->tensors[0].offset, 68u);
  EXPECT_EQ(r->tensors[0].size, 16u);
  EXPECT_EQ(r->header_size, 60u);
  EXPECT_EQ(r->data_offset, 68u);
  EXPECT_EQ(r->file_size, 84u);
}

TEST(SafetensorsHeaderVectors, V2_PaddedHeader) {
  auto r = parse(raw_safetensors(H60 + spaces(4), zeros(16)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->tensors[0].offset, 72u);
}

TEST(SafetensorsHeaderVectors, V3_V4_RustWriterOutput) {
  auto v3 = parse(raw_safetensors(H64f, f6()));
  ASSERT_TRUE(v3) << v3.error().to_string();
  EXPECT_EQ(v3->tensors[0].name, "attn.0");
  EXPECT_EQ(v3->tensors[0].offset, 72u);
  auto v4 = parse(raw_safetensors(H65f + spaces(7), f6()));
  ASSERT_TRUE(v4) << v4.error().to_string();
  EXPECT_EQ(v4->tensors[0].shape, (std::vector<std::uint64_t>{1, 1, 2, 3}));
  EXPECT_EQ(v4->tensors[0].offset, 80u);
}

TEST(SafetensorsHeaderVectors, V5_V6_ZeroTensors) {
  auto v5 = parse(raw_safetensors("{}" + spaces(6), ""));
  ASSERT_TRUE(v5) << v5.error().to_string();
  EXPECT_TRUE(v5->tensors.empty());
  auto v6 = parse(raw_safetensors(H35m + spaces(5), ""));
  ASSERT_TRUE(v6) << v6.error().to_string();
  EXPECT_EQ(v6->metadata, (std::map<std::string, std::string>{{"framework", "pt"}}));
}

TEST(SafetensorsHeaderVectors, V7_F4InOneByte) {
  auto r = parse(raw_safetensors(H60q + spaces(4), zeros(1)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->tensors[0].dtype, DType::F4);
  EXPECT_EQ(r->tensors[0].size, 1u);
}

TEST(SafetensorsHeaderVectors, V8_V10_MetadataAndUnalignedData) {
  auto v8 = parse(raw_safetensors(H95m + spaces(1), zeros(16)));
  ASSERT_TRUE(v8) << v8.error().to_string();
  EXPECT_EQ(v8->tensors[0].offset, 104u);
  auto v10 = parse(raw_safetensors(H95m + spaces(7), zeros(16)));
  ASSERT_TRUE(v10) << v10.error().to_string();
  EXPECT_EQ(v10->tensors[0].offset, 110u);  // not 8-aligned, still valid
  EXPECT_EQ(v10->metadata.at("framework"), "pt");
}

TEST(SafetensorsHeaderVectors, V9_TwoTensorsInOffsetOrder) {
  auto r = parse(raw_safetensors(H122 + spaces(6), zeros(24)));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "test1");
  EXPECT_EQ(r->tensors[1].name, "test2");
  EXPECT_EQ(r->tensors[1].offset, 136u + 16u);
  EXPECT_EQ(r->tensors[1].size, 8u);
  EXPECT_EQ(r->find("test2"), &r->tensors[1]);
  EXPECT_EQ(r->find("nope"), nullptr);
}

TEST(SafetensorsHeaderVectors, V11_V12_ScalarAndEmptyTensor) {
  auto v11 = parse(raw_safetensors(H56s, zeros(4)));
  ASSERT_TRUE(v11) << v11.error().to_string();
  EXPECT_TRUE(v11->tensors[0].shape.empty());
  EXPECT_EQ(v11->tensors[0].num_elements(), 1u);
  EXPECT_EQ(v11->tensors[0].size, 4u);
  auto v12 = parse(raw_safetensors(H60z, ""));
  ASSERT_TRUE(v12) << v12.error().to_string();
  EXPECT_EQ(v12->tensors[0].size, 0u);
  EXPECT_EQ(v12->tensors[0].num_elements(), 0u);
}

TEST(SafetensorsHeaderVectors, V13_V14_WhitespaceAroundTheObject) {
  EXPECT_TRUE(parse(raw_safetensors("{}\r \t\n", "")));
  EXPECT_TRUE(parse(raw_safetensors("\t\n{}\r ", "")));
}

TEST(SafetensorsHeaderVectors, EmptyTensorsMayShareAnOffset) {
  std::string h = R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                  R"("c":{"dtype":"U8","shape":[3,0],"data_offsets":[4,4]}})";
  auto r = parse(raw_safetensors(h, zeros(4)));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->tensors.size(), 3u);
  EXPECT_EQ(r->tensors[0].name, "a");
  EXPECT_EQ(r->tensors[1].name, "b");
  EXPECT_EQ(r->tensors[2].name, "c");
}

TEST(SafetensorsHeaderVectors, UnknownTensorFieldsAreIgnoredLikeTheReference) {
  std::string h = R"({"t":{"dtype":"U8","extra":{"x":[1,{"y":null}]},"shape":[2],"data_offsets":[0,2],"z":true}})";
  auto r = parse(raw_safetensors(h, zeros(2)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->tensors[0].size, 2u);
}

// ---- §10.2 invalid files ------------------------------------------------------

TEST(SafetensorsHeaderVectors, E1_ShorterThanEightBytes) {
  expect_invalid(parse(""), {"0 bytes"});
  expect_invalid(parse("1234567"), {"7 bytes"});
}

TEST(SafetensorsHeaderVectors, E2_HeaderLongerThanTheFile) {
  expect_invalid(parse(raw_safetensors("", "", 60)), {"60", "file size 8"});
}

TEST(SafetensorsHeaderVectors, E3_HeaderLengthAboveTheCap) {
  std::string bytes = "\x3C\0\0\0\0\xFF\xFF\xFF"s + H60 + zeros(16);
  expect_invalid(parse(bytes), {"18446742974197923900", "100000000"});
}

TEST(SafetensorsHeaderVectors, E4_NotUtf8) { expect_invalid(parse(raw_safetensors("\xFF", "")), {"UTF-8"}); }

TEST(SafetensorsHeaderVectors, E5_TruncatedJson) { expect_invalid(parse(raw_safetensors("{", "")), {"JSON"}); }

TEST(SafetensorsHeaderVectors, E6_OffsetsTooShortForShape) {
  expect_invalid(parse(raw_safetensors(H60i, "")), {"tensor 'test'", "needs 16 bytes", "span 4"});
}

TEST(SafetensorsHeaderVectors, E7_E8_SizeOverflow) {
  expect_invalid(parse(raw_safetensors(H79o, zeros(16))), {"tensor 'test'", "overflows"});
  expect_invalid(parse(raw_safetensors(H78o, zeros(16))), {"tensor 'test'", "overflows"});
}

TEST(SafetensorsHeaderVectors, E9_TenTensorsClaimTheSameBytes) {
  std::string h = "{";
  for (int i = 0; i < 10; ++i) {
    if (i > 0) h += ",";
    h += "\"weight_" + std::to_string(i) + R"(":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  }
  h += "}";
  expect_invalid(parse(raw_safetensors(h, zeros(16))), {"tensor 'weight_1'", "[0, 16]", "offset 16"});
}

TEST(SafetensorsHeaderVectors, E10_E11_TrailingOrMissingDataBytes) {
  expect_invalid(parse(raw_safetensors(H60, zeros(16) + "extra_bogus_data_for_polyglot_file")),
                 {"declares 16", "holds 50", "trailing"});
  expect_invalid(parse(raw_safetensors(H60, zeros(14))), {"declares 16", "holds 14", "truncated"});
}

TEST(SafetensorsHeaderVectors, E12_E13_SubByteSizes) {
  expect_invalid(parse(raw_safetensors(R"({"q":{"dtype":"F4","shape":[1,3],"data_offsets":[0,2]}})", zeros(2))),
                 {"tensor 'q'", "F4 [1, 3]", "whole number of bytes"});
  expect_invalid(parse(raw_safetensors(R"({"q":{"dtype":"F4","shape":[1,2],"data_offsets":[0,2]}})", zeros(2))),
                 {"tensor 'q'", "needs 1 bytes", "span 2"});
  // F6: 4 elements x 6 bits = 24 bits = 3 bytes.
  EXPECT_TRUE(parse(raw_safetensors(R"({"q":{"dtype":"F6_E3M2","shape":[4],"data_offsets":[0,3]}})", zeros(3))));
}

TEST(SafetensorsHeaderVectors, D1_D2_HoleAndNonZeroStart) {
  std::string hole = R"({"a":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},)"
                     R"("b":{"dtype":"I32","shape":[2,2],"data_offsets":[20,36]}})";
  expect_invalid(parse(raw_safetensors(hole, zeros(36))), {"tensor 'b'", "[20, 36]", "offset 16"});
  std::string late = R"({"a":{"dtype":"I32","shape":[2,2],"data_offsets":[4,20]}})";
  expect_invalid(parse(raw_safetensors(late, zeros(20))), {"tensor 'a'", "[4, 20]", "offset 0"});
}

TEST(SafetensorsHeaderVectors, EndBeforeBeginIsRefused) {
  std::string h = R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[0],"data_offsets":[0,18446744073709551615]}})";
  // Sorted (0,0) then (0,max): b starts at 0 = expected but its size mismatches.
  expect_invalid(parse(raw_safetensors(h, "")), {"tensor 'b'"});
  std::string backwards = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})";
  expect_invalid(parse(raw_safetensors(backwards, zeros(2))), {"tensor 'b'", "[2, 1]"});
}

TEST(SafetensorsHeaderVectors, D3_ZeroLengthHeader) { expect_invalid(parse(raw_safetensors("", "")), {"length is 0"}); }

TEST(SafetensorsHeaderVectors, D4_UnknownDtypes) {
  for (std::string dtype : {"f32", "F128", "float32", ""}) {
    std::string h = R"({"w":{"dtype":")" + dtype + R"(","shape":[1],"data_offsets":[0,4]}})";
    expect_invalid(parse(raw_safetensors(h, zeros(4))), {"tensor 'w'", "unknown dtype \"" + dtype + "\""});
  }
}

TEST(SafetensorsHeaderVectors, D5_MetadataValuesMustBeStrings) {
  for (std::string value : {"1", "{}", "null", "[\"a\"]", "true"}) {
    expect_invalid(parse(raw_safetensors(R"({"__metadata__":{"a":)" + value + "}}", "")), {"__metadata__", "\"a\""});
  }
  expect_invalid(parse(raw_safetensors(R"({"__metadata__":"pt"})", "")), {"__metadata__"});
}

TEST(SafetensorsHeaderVectors, D6_IntegersOnly) {
  for (std::string offs : {"[-1,15]", "[0.0,16]", "[0,1.6e1]", "[0,18446744073709551616]", "[\"0\",16]",
                           "[0,16,32]", "[16]", "[0,-0]"}) {
    std::string h = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":)" + offs + "}}";
    expect_invalid(parse(raw_safetensors(h, zeros(16))), {"tensor 'w'", "data_offsets"});
  }
  for (std::string shape : {"[-2,2]", "[2.5]", "[1e2]", "[18446744073709551616]", "[null]", "2"}) {
    std::string h = R"({"w":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,16]}})";
    expect_invalid(parse(raw_safetensors(h, zeros(16))), {"tensor 'w'", "shape"});
  }
}

TEST(SafetensorsHeaderVectors, D7_D8_NotAnObjectOrGarbageAfterIt) {
  expect_invalid(parse(raw_safetensors("[]", "")), {"expected a JSON object"});
  expect_invalid(parse(raw_safetensors("\"x\"", "")), {"expected a JSON object"});
  expect_invalid(parse(raw_safetensors("{}x", "")), {"JSON"});
  expect_invalid(parse(raw_safetensors("{}\0"s, "")), {"JSON"});
  expect_invalid(parse(raw_safetensors("{},", "")), {"JSON"});
  expect_invalid(parse(raw_safetensors("x{}", "")), {"JSON"});
}

TEST(SafetensorsHeaderVectors, D9_DuplicateKeys) {
  std::string t = R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  expect_invalid(parse(raw_safetensors(R"({"w":)" + t + R"(,"w":)" + t + "}", zeros(1))),
                 {"duplicate tensor name 'w'"});
  expect_invalid(parse(raw_safetensors(R"({"__metadata__":{},"__metadata__":{}})", "")),
                 {"duplicate \"__metadata__\""});
  expect_invalid(parse(raw_safetensors(R"({"__metadata__":{"a":"1","a":"2"}})", "")), {"duplicate", "\"a\""});
  expect_invalid(parse(raw_safetensors(R"({"w":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})",
                                       zeros(1))),
                 {"tensor 'w'", "duplicate field \"dtype\""});
}

TEST(SafetensorsHeaderRules, MissingFieldsNameTheTensor) {
  expect_invalid(parse(raw_safetensors(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", zeros(1))),
                 {"tensor 'w'", "missing \"dtype\""});
  expect_invalid(parse(raw_safetensors(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", zeros(1))),
                 {"tensor 'w'", "missing \"shape\""});
  expect_invalid(parse(raw_safetensors(R"({"w":{"dtype":"U8","shape":[1]}})", zeros(1))),
                 {"tensor 'w'", "missing \"data_offsets\""});
  expect_invalid(parse(raw_safetensors(R"({"w":[1]})", zeros(1))), {"tensor 'w'", "expected an object"});
}

TEST(SafetensorsHeaderRules, HeaderCapIsAnOption) {
  std::string bytes = raw_safetensors(H60, zeros(16));
  ReaderOptions tight;
  tight.max_header_bytes = 59;
  expect_invalid(parse(bytes, tight), {"header length 60", "limit of 59"});
  tight.max_header_bytes = 60;
  EXPECT_TRUE(parse(bytes, tight));
}

TEST(SafetensorsHeaderRules, TensorCountAndNameLengthAreCapped) {
  ReaderOptions opts;
  opts.max_tensors = 1;
  expect_invalid(parse(raw_safetensors(H122, zeros(24)), opts), {"more than 1 tensors"});
  opts = {};
  opts.max_name_bytes = 4;
  expect_invalid(parse(raw_safetensors(H122, zeros(24)), opts), {"5 bytes", "4-byte limit"});
}

TEST(SafetensorsHeaderRules, InvalidUtf8InsideAStringIsRefusedBeforeJson) {
  for (std::string bad : {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"}) {
    expect_invalid(parse(raw_safetensors("{\"" + bad + "\":{}}", "")), {"UTF-8"});
  }
  // Multi-byte names are fine.
  std::string h = "{\"caf\xC3\xA9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  auto r = parse(raw_safetensors(h, zeros(1)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->tensors[0].name, "caf\xC3\xA9");
}

TEST(SafetensorsHeaderRules, HeaderLengthNeedsOnlyTheFirstEightBytes) {
  std::string bytes = raw_safetensors(H60, zeros(16));
  auto n = parse_header_length(std::as_bytes(std::span(bytes.data(), 8)), 84, {}, kSource);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 60u);
  // A prefix shorter than 8 + N while the file is long enough: the caller must fetch more.
  auto r = parse_header(std::as_bytes(std::span(bytes.data(), 30)), 84, {}, kSource);
  expect_invalid(r, {"only 30 bytes", "byte 68"});
}

TEST(SafetensorsHeaderRules, RandomBytesNeverCrash) {
  std::mt19937_64 rng(1234);
  const std::string valid = raw_safetensors(H122, zeros(24));
  for (int i = 0; i < 3000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 200);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {  // mutate a valid file so the JSON parser is reached
      bytes = valid;
      for (int k = 0; k < 3; ++k) bytes[8 + rng() % (bytes.size() - 8)] = static_cast<char>(rng());
    }
    auto r = parse(bytes);
    if (!r) {
      EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input);
    }
  }
}

TEST(SafetensorsDTypes, TableMatchesTheSpec) {
  EXPECT_EQ(all_dtypes().size(), 22u);
  for (DType d : all_dtypes()) EXPECT_EQ(dtype_from_string(to_string(d)), d);
  EXPECT_EQ(dtype_bits(DType::F4), 4u);
  EXPECT_EQ(dtype_bits(DType::F6_E2M3), 6u);
  EXPECT_EQ(dtype_bits(DType::F8_E8M0), 8u);
  EXPECT_EQ(dtype_bits(DType::BF16), 16u);
  EXPECT_EQ(dtype_bits(DType::C64), 64u);
  EXPECT_EQ(dtype_from_string("bf16"), std::nullopt);
  std::uint64_t shape[] = {3, 5};
  EXPECT_EQ(tensor_byte_size(DType::BF16, shape), 30u);
  EXPECT_EQ(tensor_byte_size(DType::F4, shape), std::nullopt);  // 60 bits
  std::uint64_t big[] = {1ull << 62, 4};
  EXPECT_EQ(tensor_byte_size(DType::U8, big), std::nullopt);
}

}  // namespace
}  // namespace hubload
