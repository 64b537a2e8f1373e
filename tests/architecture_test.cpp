// The layering check: every `#include "..."` under src/ and include/hubload/
// must name a component that the including component may depend on, as the
// "Allowed dependencies" table of docs/architecture.md says. The table is read
// from the doc itself, so the doc and the check cannot drift apart.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace hubload::testing {
namespace {

namespace fs = std::filesystem;

struct Layering {
  std::map<std::string, std::set<std::string>> allowed;  // component -> components it may include
  std::map<std::string, std::string> public_headers;     // "cache.h" -> "cache"
};

std::string trim(std::string s) {
  const char* space = " \t`";
  s.erase(0, s.find_first_not_of(space));
  s.erase(s.find_last_not_of(space) + 1);
  return s;
}

std::vector<std::string> split_list(const std::string& cell) {
  std::vector<std::string> out;
  std::stringstream in(cell);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty() && item != "—" && item != "-") out.push_back(item);
  }
  return out;
}

// Rows "| component | `a.h`, `b.h` | dep, dep |" of the section "## Allowed dependencies".
Layering parse_layering(const std::string& markdown) {
  Layering out;
  std::stringstream in(markdown);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      in_section = line == "## Allowed dependencies";
      continue;
    }
    if (!in_section || line.rfind("| ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    std::string cell;
    while (std::getline(row, cell, '|')) cells.push_back(trim(cell));
    if (cells.size() < 3 || cells[0] == "component") continue;
    auto& deps = out.allowed[cells[0]];
    for (const std::string& header : split_list(cells[1])) out.public_headers[header] = cells[0];
    for (const std::string& dep : split_list(cells[2])) deps.insert(dep);
  }
  return out;
}

// The component of an include as written: "hubload/x.h" by the header table,
// "x/y.h" by its folder. nullopt when it names neither.
std::optional<std::string> component_of_include(const Layering& layering, const std::string& include) {
  if (include.rfind("hubload/", 0) == 0) {
    auto it = layering.public_headers.find(include.substr(8));
    if (it == layering.public_headers.end()) return std::nullopt;
    return it->second;
  }
  const auto slash = include.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string folder = include.substr(0, slash);
  if (!layering.allowed.contains(folder)) return std::nullopt;
  return folder;
}

// The violations of one file, each naming the file and the include. `owner` is the
// component of the file; `sibling_exists` tells whether a slash-less include is a
// header beside the file (same component).
std::vector<std::string> check_file(const Layering& layering, const std::string& file, const std::string& owner,
                                    const std::string& text, const fs::path& dir) {
  std::vector<std::string> problems;
  if (!layering.allowed.contains(owner)) {
    return {file + ": its component '" + owner + "' has no row in docs/architecture.md's table"};
  }
  static const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::stringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::smatch match;
    if (!std::regex_search(line, match, include_line)) continue;
    const std::string include = match[1];
    const std::string where = file + ":" + std::to_string(number) + ": #include \"" + include + "\"";
    std::optional<std::string> target = component_of_include(layering, include);
    if (!target && include.find('/') == std::string::npos && !dir.empty() && fs::exists(dir / include)) {
      target = owner;
    }
    if (!target) {
      problems.push_back(where + " names no component of docs/architecture.md's table");
    } else if (*target != owner && !layering.allowed.at(owner).contains(*target)) {
      problems.push_back(where + ": " + owner + " may not depend on " + *target);
    }
  }
  return problems;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const fs::path kRoot = HUBLOAD_SOURCE_DIR;

Layering project_layering() { return parse_layering(read_text(kRoot / "docs" / "architecture.md")); }

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

TEST(ArchitectureTest, TheDocHasATableOfEveryComponent) {
  const Layering layering = project_layering();
  for (const char* component : {"error", "file", "util", "safetensors", "config", "plan", "load", "transport",
                                "faults", "cache", "hub", "transfer", "remote", "serve", "cli"}) {
    EXPECT_TRUE(layering.allowed.contains(component)) << component;
  }
  for (const auto& [component, deps] : layering.allowed) {
    for (const std::string& dep : deps) {
      EXPECT_TRUE(layering.allowed.contains(dep)) << component << " names an unknown component " << dep;
    }
  }
  EXPECT_EQ(layering.public_headers.at("remote_plan.h"), "remote");
  EXPECT_EQ(layering.public_headers.at("hub_environment.h"), "hub");
}

TEST(ArchitectureTest, AllowedDependenciesAreAcyclic) {
  const Layering layering = project_layering();
  // Depth-first search; a node met again while on the stack closes a cycle.
  std::map<std::string, int> state;  // 0 unseen, 1 on the stack, 2 done
  std::vector<std::string> stack;
  std::string cycle;
  std::function<void(const std::string&)> visit = [&](const std::string& node) {
    state[node] = 1;
    stack.push_back(node);
    for (const std::string& dep : layering.allowed.at(node)) {
      if (!cycle.empty() || !layering.allowed.contains(dep)) continue;
      if (state[dep] == 1) {
        for (auto it = std::find(stack.begin(), stack.end(), dep); it != stack.end(); ++it) cycle += *it + " -> ";
        cycle += dep;
      } else if (state[dep] == 0) {
        visit(dep);
      }
    }
    stack.pop_back();
    state[node] = 2;
  };
  for (const auto& entry : layering.allowed) {
    if (state[entry.first] == 0) visit(entry.first);
  }
  EXPECT_EQ(cycle, "");
}

TEST(ArchitectureTest, EveryIncludeFollowsTheTable) {
  const Layering layering = project_layering();
  ASSERT_FALSE(layering.allowed.empty()) << "no table under '## Allowed dependencies' in docs/architecture.md";
  std::vector<std::string> problems;
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kRoot / "src")) {
    if (!entry.is_regular_file()) continue;
    const fs::path relative = fs::relative(entry.path(), kRoot);
    const std::string ext = relative.extension().string();
    if (ext != ".cpp" && ext != ".h") continue;
    const std::string owner = (++relative.begin())->string();  // src/<component>/...
    auto found = check_file(layering, relative.string(), owner, read_text(entry.path()), entry.path().parent_path());
    problems.insert(problems.end(), found.begin(), found.end());
    ++files;
  }
  for (const auto& entry : fs::directory_iterator(kRoot / "include" / "hubload")) {
    const std::string name = entry.path().filename().string();
    const std::string relative = "include/hubload/" + name;
    auto owner = layering.public_headers.find(name);
    if (owner == layering.public_headers.end()) {
      problems.push_back(relative + ": no component of docs/architecture.md's table lists this header");
      continue;
    }
    auto found = check_file(layering, relative, owner->second, read_text(entry.path()), {});
    problems.insert(problems.end(), found.begin(), found.end());
    ++files;
  }
  EXPECT_GT(files, 100);
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

// The checker itself: a hub file that includes plan is caught, by name.
TEST(ArchitectureTest, AForbiddenIncludeIsReportedWithFileAndInclude) {
  const Layering layering = parse_layering(
      "## Allowed dependencies\n"
      "| component | public headers | may depend on |\n"
      "|---|---|---|\n"
      "| error | `error.h` | — |\n"
      "| plan | `plan.h` | error |\n"
      "| hub | `hub.h`, `hub_environment.h` | error |\n"
      "## Next\n"
      "| other | `other.h` | hub |\n");
  EXPECT_FALSE(layering.allowed.contains("other"));
  const std::string text =
      "#include \"hubload/hub.h\"\n#include \"hubload/error.h\"\n#include <vector>\n#include \"plan/rules.h\"\n"
      "#include \"hubload/plan.h\"\n#include \"hubload/nothing.h\"\n";
  const std::vector<std::string> problems = check_file(layering, "src/hub/x.cpp", "hub", text, {});
  ASSERT_EQ(problems.size(), 3u) << joined(problems);
  EXPECT_EQ(problems[0], "src/hub/x.cpp:4: #include \"plan/rules.h\": hub may not depend on plan");
  EXPECT_EQ(problems[1], "src/hub/x.cpp:5: #include \"hubload/plan.h\": hub may not depend on plan");
  EXPECT_EQ(problems[2], "src/hub/x.cpp:6: #include \"hubload/nothing.h\" names no component of docs/architecture.md's table");
  EXPECT_TRUE(check_file(layering, "src/plan/p.cpp", "plan", "#include \"hubload/error.h\"\n", {}).empty());
  EXPECT_EQ(check_file(layering, "src/new/n.cpp", "new", "", {}).size(), 1u);
}

}  // namespace
}  // namespace hubload::testing
