// The tool registry: definitions as tools/list shows them, lookup, the failure shape.
#include "mcp/tools.hpp"

namespace pgshift::mcp {

using json = nlohmann::json;

json Tool::definition() const {
  return {{"name", name},
          {"title", title},
          {"description", description},
          {"inputSchema", input_schema},
          {"outputSchema", output_schema},
          {"annotations",
           {{"title", title},
            {"readOnlyHint", true},
            {"destructiveHint", false},
            {"idempotentHint", true},
            {"openWorldHint", false}}}};
}

Tool make_tool(std::string name, std::string title, std::string description, json input_schema, json output_schema,
               decltype(Tool::call) call) {
  return Tool{std::move(name), std::move(title), std::move(description), std::move(input_schema),
              std::move(output_schema), std::move(call)};
}

const std::vector<Tool>& tools() {
  static const std::vector<Tool> all = [] {
    std::vector<Tool> out;
    for (auto family : {catalog_tools, query_tools, stats_tools}) {
      for (Tool& t : family()) out.push_back(std::move(t));
    }
    return out;
  }();
  return all;
}

const Tool* find_tool(const std::string& name) {
  for (const Tool& t : tools()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

ToolResult tool_error(std::string code, std::string message, json extra) {
  ToolResult r;
  r.is_error = true;
  json e = {{"code", std::move(code)}, {"message", std::move(message)}};
  for (auto& [k, v] : extra.items()) e[k] = v;
  r.error = {{"error", std::move(e)}};
  return r;
}

}  // namespace pgshift::mcp
