// The built-in family tables (src/plan/families/*.json) are data compiled into
// the library: each must parse with the rules-file parser, and each model_type
// must pick exactly one table.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "plan/embedded.h"
#include "plan/rules.h"

namespace hubload::plan_internal {
namespace {

TEST(PlanFamilies, EveryBuiltInTableParsesAndIsNamedForItsFile) {
  ASSERT_GE(builtin_family_files().size(), 7u);
  for (const EmbeddedFile& file : builtin_family_files()) {
    SCOPED_TRACE(std::string(file.path));
    Result<FamilyTable> table = parse_family_table(file.text, file.path);
    ASSERT_TRUE(table.has_value()) << table.error().message();
    EXPECT_EQ(table->family, std::filesystem::path(file.path).stem().string());
    EXPECT_FALSE(table->rules.empty());
    EXPECT_FALSE(table->required.empty());
  }
}

TEST(PlanFamilies, NoModelTypeIsClaimedByTwoTables) {
  std::map<std::string, std::string> owner;
  for (const EmbeddedFile& file : builtin_family_files()) {
    FamilyTable table = parse_family_table(file.text, file.path).value();
    for (const std::string& type : table.model_types) {
      auto [it, inserted] = owner.emplace(type, table.family);
      EXPECT_TRUE(inserted) << type << " is in " << it->second << " and " << table.family;
      EXPECT_TRUE(family_table_covers(file.text, type));
    }
  }
  EXPECT_EQ(owner.at("qwen3_moe"), "llama");
  EXPECT_EQ(owner.at("deepseek_v3"), "deepseek");
  EXPECT_EQ(owner.at("RefinedWeb"), "falcon");
}

TEST(PlanFamilies, FamilyRulesFollowTheTableAndTheTiedHead) {
  ModelConfig config;
  config.model_type = "kimi_k2";
  config.family = "deepseek_v3";  // what the architectures fallback sets
  FamilyRules untied = family_rules(config);
  ASSERT_FALSE(untied.rules.empty());
  EXPECT_EQ(untied.rules.back().pattern, "^lm_head\\.weight$");
  EXPECT_EQ(untied.rules.back().strategy, Strategy::vocab);
  EXPECT_EQ(std::count(untied.required.begin(), untied.required.end(), "^lm_head\\.weight$"), 1);

  config.tie_word_embeddings = true;
  FamilyRules tied = family_rules(config);
  EXPECT_EQ(tied.rules.back().strategy, Strategy::skip);
  EXPECT_EQ(tied.required.size() + 1, untied.required.size());

  config.family.clear();
  config.model_type = "no_such_family";
  EXPECT_TRUE(family_rules(config).rules.empty());
}

TEST(PlanFamilies, ATableWithAFaultIsRefusedNamingTheFileAndTheField) {
  const auto message = [](std::string_view json) {
    Result<FamilyTable> table = parse_family_table(json, "fam.json");
    return table ? std::string("parsed") : table.error().message();
  };
  EXPECT_EQ(message(R"({"rules": []})"), "fam.json: a family table needs string fields \"family\" and \"lm_head\"");
  EXPECT_EQ(message(R"({"family": "x", "lm_head": "h", "rules": []})"),
            "fam.json: \"model_types\" must name at least one model_type");
  EXPECT_EQ(message(R"({"family": "x", "lm_head": "h", "model_types": ["x"], "required": [1], "rules": []})"),
            "fam.json: \"required\" must be an array of strings");
  EXPECT_NE(message(R"({"family": "x", "lm_head": "(", "model_types": ["x"], "rules": []})")
                .find("fam.json: lm_head: pattern '(' is not a valid regular expression"),
            std::string::npos);
  EXPECT_NE(message(R"({"family": "x", "lm_head": "h", "model_types": ["x"],
                        "rules": [{"pattern": "a", "strategy": "sideways"}]})")
                .find("fam.json: rules[0]: unknown strategy 'sideways'"),
            std::string::npos);
}

TEST(PlanFamilies, ARulesFileMayExplainEachRule) {
  Result<std::vector<Rule>> rules = parse_rules_file(
      R"({"rules": [{"pattern": "\\.w$", "strategy": "column", "why": "the fused projection"}]})", "r.json");
  ASSERT_TRUE(rules.has_value()) << rules.error().message();
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].strategy, Strategy::column);
}

// Rules files are user input: their patterns are RE2, matched in linear time.
// Under std::regex the first name below takes exponential time, the second
// overflows the stack.
TEST(PlanFamilies, APathologicalRulePatternMatchesInLinearTime) {
  Result<std::vector<Rule>> rules = parse_rules_file(R"({"rules": [
      {"pattern": "^(a*)*b$", "strategy": "column"},
      {"pattern": "(x|y)*z", "strategy": "row"}]})", "evil.json");
  ASSERT_TRUE(rules.has_value()) << rules.error().message();
  EXPECT_FALSE((*rules)[0].re.search(std::string(40, 'a') + "!"));
  EXPECT_TRUE((*rules)[1].re.search(std::string(1 << 20, 'x') + "z"));
}

TEST(PlanFamilies, PatternsRE2CannotBoundAreRefusedByName) {
  auto message = [](const std::string& pattern) {
    Result<std::vector<Rule>> rules = parse_rules_file(
        R"({"rules": [{"pattern": ")" + pattern + R"(", "strategy": "row"}]})", "r.json");
    return rules ? std::string("parsed") : rules.error().message();
  };
  EXPECT_NE(message("(a)\\\\1").find("r.json: rules[0]: pattern '(a)\\1' is not a valid regular expression"),
            std::string::npos)
      << message("(a)\\\\1");
  EXPECT_EQ(message(std::string(5000, 'a')),
            "r.json: rules[0]: a pattern of 5000 characters is longer than the 4096 allowed");
}

}  // namespace
}  // namespace hubload::plan_internal
