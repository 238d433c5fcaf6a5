// Turns the C++ snippets of a Markdown document into one C++ file that the build
// compiles and the test suite runs, so that no snippet in README.md or docs/ can rot.
//
//   extract_snippets <document.md> <out.cpp> <source root>
//
// Each ```cpp block is one snippet. A marker on the line above a block says more:
//   (none)                            a fragment: compiled as the body of a function
//   <!-- snippet: continues -->       the same function as the snippet before it
//   <!-- snippet: run -->             a fragment that the test also runs
//   <!-- snippet: output -->          (on a ```console block after a run snippet or a
//                                     program) the exact output it must print
//   <!-- snippet: excerpt FILE -->    condensed lines of FILE (under the source root):
//                                     every line but "..." must be a line of FILE
// A block holding `int main(` is a whole program: compiled, and run by the test.
// #include lines are moved to the top of the file. The generated file's main(k) runs
// snippet k; with no argument it prints the runnable snippets, each with the file that
// holds its expected output (or "-"). Errors point at the document's lines (#line).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Snippet {
  int line = 0;  // the document's line of the first code line
  std::vector<std::string> code;
  std::string marker;  // "", "continues", "run", "excerpt FILE"
  bool program = false;
  std::string expected_output;
  bool has_output = false;
};

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// "<!-- snippet: X -->" -> "X"; anything else -> "".
std::string marker_of(const std::string& line) {
  const std::string t = trim(line);
  const std::string open = "<!-- snippet:", close = "-->";
  if (t.rfind(open, 0) != 0 || t.size() < open.size() + close.size() ||
      t.compare(t.size() - close.size(), close.size(), close) != 0)
    return "";
  return trim(t.substr(open.size(), t.size() - open.size() - close.size()));
}

int fail(const std::string& where, const std::string& what) {
  std::cerr << where << ": error: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4)
    return fail("extract_snippets", "usage: extract_snippets <doc.md> <out.cpp> <root>");
  const std::string doc = argv[1], out_path = argv[2], root = argv[3];
  std::ifstream in(doc);
  if (!in) return fail(doc, "cannot open");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);

  std::vector<Snippet> snippets;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trim(lines[i]);
    if (t.rfind("```", 0) != 0 || t == "```") continue;
    const std::string lang = t.substr(3);
    const std::string marker = i > 0 ? marker_of(lines[i - 1]) : "";
    std::size_t end = i + 1;
    while (end < lines.size() && trim(lines[end]) != "```") ++end;
    if (end == lines.size()) return fail(doc + ":" + std::to_string(i + 1), "unclosed ``` block");
    std::vector<std::string> body(lines.begin() + static_cast<std::ptrdiff_t>(i + 1),
                                  lines.begin() + static_cast<std::ptrdiff_t>(end));
    if (marker == "output") {
      if (snippets.empty() || !(snippets.back().program || snippets.back().marker == "run"))
        return fail(doc + ":" + std::to_string(i), "an output block follows no runnable snippet");
      for (const auto& b : body) snippets.back().expected_output += b + "\n";
      snippets.back().has_output = true;
    } else if (lang == "cpp" || lang == "c++") {
      Snippet s;
      s.line = static_cast<int>(i + 2);
      s.code = body;
      s.marker = marker;
      for (const auto& b : body) s.program |= b.find("int main(") != std::string::npos;
      snippets.push_back(std::move(s));
    } else if (!marker.empty()) {
      return fail(doc + ":" + std::to_string(i), "a snippet marker on a ```" + lang + " block");
    }
    i = end;
  }

  // Excerpts: each line must be in the file it condenses.
  for (const auto& s : snippets) {
    if (s.marker.rfind("excerpt ", 0) != 0) continue;
    const std::string file = trim(s.marker.substr(8));
    std::ifstream src(root + "/" + file);
    if (!src) return fail(doc + ":" + std::to_string(s.line - 1), "no file " + file);
    std::set<std::string> have;
    for (std::string l; std::getline(src, l);) have.insert(trim(l));
    for (std::size_t k = 0; k < s.code.size(); ++k) {
      const std::string t = trim(s.code[k]);
      if (t.empty() || t == "...") continue;
      if (!have.count(t))
        return fail(doc + ":" + std::to_string(s.line + static_cast<int>(k)),
                    "this line of the excerpt is not in " + file + ": " + t);
    }
  }

  std::ostringstream head, body, dispatch, listing;
  std::set<std::string> includes;
  head << "// Generated from " << doc << " by tests/docs/extract_snippets.cpp: do not edit.\n";
  bool open_function = false;
  int index = 0, runnable = 0;
  for (const auto& s : snippets) {
    ++index;
    if (s.marker.rfind("excerpt ", 0) == 0) continue;
    const bool continues = s.marker == "continues";
    if (continues && !open_function)
      return fail(doc + ":" + std::to_string(s.line - 1), "'continues' follows no fragment");
    if (open_function && (!continues || s.program)) {
      body << "}\n}  // namespace\n";
      open_function = false;
    }
    std::ostringstream code;
    code << "#line " << s.line << " \"" << doc << "\"\n";
    for (const auto& l : s.code) {
      if (trim(l).rfind("#include", 0) == 0) {
        includes.insert(trim(l));
        code << "\n";  // keeps the line numbers
      } else {
        std::string c = l;
        if (s.program) {
          const auto at = c.find("int main(");
          if (at != std::string::npos) c.replace(at, 9, "int snippet_main(");
        }
        code << c << "\n";
      }
    }
    const std::string ns = "snippet_" + std::to_string(index);
    if (s.program) {
      body << "namespace " << ns << " {\n" << code.str() << "}  // namespace " << ns << "\n";
      dispatch << "  if (k == " << index << ") return " << ns << "::snippet_main();\n";
    } else if (continues) {
      body << code.str();
    } else {
      body << "namespace " << ns << " {\n[[maybe_unused]] void run() {\n" << code.str();
      open_function = true;
      if (s.marker == "run")
        dispatch << "  if (k == " << index << ") return " << ns << "::run(), 0;\n";
    }
    if (s.program || s.marker == "run") {
      ++runnable;
      std::string expected = "-";
      if (s.has_output) {
        expected = out_path + "." + std::to_string(index) + ".expected";
        std::ofstream(expected) << s.expected_output;
      }
      listing << "  std::printf(\"" << index << " " << expected << "\\n\");\n";
    }
  }
  if (open_function) body << "}\n}  // namespace\n";

  std::ofstream out(out_path);
  out << head.str();
  for (const auto& inc : includes) out << inc << "\n";
  out << "#include <cstdio>\n#include <cstdlib>\n#include <tapegrad/tapegrad.hpp>\n"
      << "namespace tg = tapegrad;\n\n"
      << body.str() << "\n#line 1 \"" << out_path << "\"\n"
      << "int main(int argc, char** argv) {\n"
      << "  if (argc < 2) {\n"
      << listing.str() << "    return 0;\n  }\n"
      << "  const int k = std::atoi(argv[1]);\n"
      << dispatch.str()
      << "  std::fprintf(stderr, \"no runnable snippet %d\\n\", k);\n  return 2;\n}\n";
  if (!out) return fail(out_path, "cannot write");
  std::cout << "extract_snippets: " << doc << ": " << snippets.size() << " snippets, " << runnable
            << " to run\n";
  return 0;
}
