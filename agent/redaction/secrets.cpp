#include "redaction/secrets.h"

#include <algorithm>
#include <array>

#include "common/ascii.h"

namespace shadowmeter::redaction {
namespace {

using ascii::contains_ci;
using ascii::lower;

bool upper_c(char c) { return c >= 'A' && c <= 'Z'; }
bool lower_c(char c) { return c >= 'a' && c <= 'z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool alpha(char c) { return upper_c(c) || lower_c(c); }
bool alnum(char c) { return alpha(c) || digit(c); }
bool key_char(char c) { return alnum(c) || c == '_' || c == '-'; }
bool name_char(char c) { return alnum(c) || c == '_' || c == '-' || c == '.'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool quote(char c) { return c == '"' || c == '\''; }
bool aws_secret_char(char c) { return alnum(c) || c == '/' || c == '+' || c == '='; }

}  // namespace

bool secret_name(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kWords{"key",    "secret", "password",
                                                          "passwd", "auth",   "credential"};
  if (std::any_of(kWords.begin(), kWords.end(), [&](std::string_view w) { return contains_ci(name, w); }))
    return true;
  // "token", but not "tokens": max_tokens, tokens_used are counts.
  for (std::size_t i = 0; i + 5 <= name.size(); ++i) {
    if (contains_ci(name.substr(i, 5), "token") && (i + 5 == name.size() || lower(name[i + 5]) != 's'))
      return true;
  }
  return false;
}

namespace {

// End of an unquoted secret value starting at `i`: one token, up to whitespace, a quote or a
// JSON/YAML delimiter; in a URL query also up to the next parameter.
std::size_t bare_value_end(std::string_view a, std::size_t i, bool query) {
  while (i < a.size()) {
    const char c = a[i];
    if (space(c) || quote(c) || c == '\\' || c == ',' || c == ';' || c == '}' || c == ']' || c == ')') break;
    if (query && (c == '&' || c == '#')) break;
    ++i;
  }
  return i;
}

// End of a quoted value: the closing quote, an escaped quote (JSON inside a shell string) or the
// end of the line.
std::size_t quoted_value_end(std::string_view a, std::size_t i, char q) {
  while (i < a.size() && a[i] != q && a[i] != '\\' && a[i] != '\n') ++i;
  return i;
}

// Past "Bearer " / "Basic " / "Token ": the scheme is not secret and says what kind of credential
// was used. Only known schemes: any other word is taken for (part of) the secret.
std::size_t skip_auth_scheme(std::string_view a, std::size_t i) {
  static constexpr std::array<std::string_view, 5> kSchemes{"bearer", "basic", "token", "digest",
                                                            "negotiate"};
  std::size_t k = i;
  while (k < a.size() && alpha(a[k]) && k - i < 16) ++k;
  if (k == i || k >= a.size() || !space(a[k])) return i;
  const std::string_view word = a.substr(i, k - i);
  if (std::none_of(kSchemes.begin(), kSchemes.end(),
                   [&](std::string_view s) { return word.size() == s.size() && contains_ci(word, s); }))
    return i;
  while (k < a.size() && space(a[k])) ++k;
  return k < a.size() ? k : i;
}

// name=value, name: value, "name": "value", 'name'='value', where the name looks secret.
void named_values(std::string_view a, std::vector<Range>& out) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i];
    if (c != '=' && c != ':') continue;
    if (c == ':' && i + 1 < a.size() && a[i + 1] == '/') continue;  // scheme://, see userinfo()
    std::size_t k = i;
    while (k > 0 && (a[k - 1] == ' ' || a[k - 1] == '\t') && i - k < 8) --k;
    const std::size_t before_quotes = k;
    while (k > 0 && (quote(a[k - 1]) || a[k - 1] == '\\') && before_quotes - k < 3) --k;
    std::size_t j = k;
    while (j > 0 && name_char(a[j - 1])) --j;
    if (j == k || !secret_name(a.substr(j, k - j))) continue;
    std::size_t v = i + 1;
    while (v < a.size() && (a[v] == ' ' || a[v] == '\t')) ++v;
    char q = 0;
    for (std::size_t n = 0; n < 3 && v < a.size() && (quote(a[v]) || a[v] == '\\'); ++n, ++v) {
      if (quote(a[v])) q = a[v];
    }
    v = skip_auth_scheme(a, v);
    const bool query = j > 0 && (a[j - 1] == '?' || a[j - 1] == '&' || a[j - 1] == ';');
    const std::size_t e = q ? quoted_value_end(a, v, q) : bare_value_end(a, v, query);
    if (e > v) {
      out.push_back({v, e});
      i = e - 1;
    }
  }
}

// "Bearer X" wherever it appears (e.g. inside a longer header argument).
void bearer_values(std::string_view a, std::vector<Range>& out) {
  for (std::size_t i = 0; i + 7 <= a.size(); ++i) {
    if (lower(a[i]) != 'b' || !contains_ci(a.substr(i, 6), "bearer") || !space(a[i + 6])) continue;
    if (i > 0 && name_char(a[i - 1])) continue;
    std::size_t k = i + 6;
    while (k < a.size() && space(a[k])) ++k;
    const std::size_t e = bare_value_end(a, k, false);
    if (e > k) out.push_back({k, e});
  }
}

// scheme://user:password@host
void userinfo(std::string_view a, std::vector<Range>& out) {
  for (std::size_t p = a.find("://"); p != std::string_view::npos; p = a.find("://", p + 3)) {
    const std::size_t start = p + 3;
    std::size_t end = start;
    while (end < a.size() && a[end] != '/' && a[end] != '?' && a[end] != '#' && !space(a[end])) ++end;
    const std::string_view authority = a.substr(start, end - start);
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    const auto colon = authority.find(':');
    if (colon == std::string_view::npos || colon > at || colon + 1 == at) continue;
    out.push_back({start + colon + 1, start + at});
  }
}

struct Prefix {
  std::string_view text;
  std::size_t min_tail;  // key characters after the prefix
};

// Prefixed key formats, as their issuers document them; the tails are long enough that ordinary
// words ("sk-learn", "hf_hub") are left alone.
constexpr std::array<Prefix, 12> kPrefixes{{{"sk-", 16},
                                            {"AIza", 30},
                                            {"xai-", 20},
                                            {"gsk_", 20},
                                            {"hf_", 20},
                                            {"pplx-", 20},
                                            {"r8_", 20},
                                            {"ghp_", 20},
                                            {"gho_", 20},
                                            {"ghs_", 20},
                                            {"github_pat_", 20},
                                            {"glpat-", 16}}};

constexpr std::array<std::string_view, 11> kAwsIdPrefixes{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA",
                                                          "AROA", "AIPA", "ANPA", "ANVA", "APKA"};

std::size_t run_end(std::string_view a, std::size_t i, bool (*in)(char)) {
  while (i < a.size() && in(a[i])) ++i;
  return i;
}

// An AWS access key id at `i` (which starts a word): its end, or 0.
std::size_t aws_key_id_end(std::string_view a, std::size_t i) {
  const std::string_view rest = a.substr(i);
  if (!std::any_of(kAwsIdPrefixes.begin(), kAwsIdPrefixes.end(),
                   [&](std::string_view p) { return rest.starts_with(p); }))
    return 0;
  std::size_t e = i + 4;
  while (e < a.size() && (upper_c(a[e]) || digit(a[e]))) ++e;
  const std::size_t tail = e - i - 4;
  if (tail < 16 || tail > 24 || (e < a.size() && alnum(a[e]))) return 0;
  return e;
}

// header.payload.signature, each base64url; the header of a JWT always starts {" = eyJ.
std::size_t jwt_end(std::string_view a, std::size_t i) {
  if (a.substr(i, 3) != "eyJ") return 0;
  std::size_t e = i;
  for (int part = 0; part < 3; ++part) {
    const std::size_t s = e;
    e = run_end(a, e, key_char);
    if (part < 2 && (e - s < 8 || e >= a.size() || a[e] != '.')) return 0;
    if (part < 2) ++e;
  }
  return e;
}

void key_shapes(std::string_view a, const SecretScan& scan, std::vector<Range>& out) {
  const bool aws = scan.aws_key_id_seen || has_aws_key_id(a);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i > 0 && alnum(a[i - 1])) continue;
    std::size_t e = 0;
    for (const Prefix& p : kPrefixes) {
      if (!a.substr(i).starts_with(p.text)) continue;
      const std::size_t end = run_end(a, i + p.text.size(), key_char);
      if (end - i - p.text.size() >= p.min_tail) e = end;
      break;
    }
    if (e == 0) e = aws_key_id_end(a, i);
    if (e == 0) e = jwt_end(a, i);
    if (e == 0 && alnum(a[i])) {
      // A long run of letters and digits that mixes cases and digits: a key without a prefix.
      const std::size_t end = run_end(a, i, alnum);
      if (end - i >= 32) {
        bool up = false, low = false, dig = false;
        for (std::size_t k = i; k < end; ++k) {
          up = up || upper_c(a[k]);
          low = low || lower_c(a[k]);
          dig = dig || digit(a[k]);
        }
        if (up && low && dig) e = end;
      }
    }
    if (e == 0 && aws && aws_secret_char(a[i]) && (i == 0 || !aws_secret_char(a[i - 1]))) {
      const std::size_t end = run_end(a, i, aws_secret_char);
      if (end - i == 40) e = end;  // an AWS secret access key is 40 characters of this alphabet
    }
    if (e > i) {
      out.push_back({i, e});
      i = e - 1;
    }
  }
}

}  // namespace

bool has_aws_key_id(std::string_view text) {
  for (std::size_t i = text.find('A'); i != std::string_view::npos; i = text.find('A', i + 1)) {
    if ((i == 0 || !alnum(text[i - 1])) && aws_key_id_end(text, i) != 0) return true;
  }
  return false;
}

void find_secrets(std::string_view text, const SecretScan& scan, std::vector<Range>& out) {
  named_values(text, out);
  bearer_values(text, out);
  userinfo(text, out);
  key_shapes(text, scan, out);
}

void append_with_ranges_redacted(std::string& out, std::string_view a, std::vector<Range>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const Range& x, const Range& y) { return x.begin < y.begin; });
  std::size_t pos = 0;
  for (const Range& r : ranges) {
    if (r.end <= pos) continue;  // inside a range already redacted
    const std::size_t b = std::max(r.begin, pos);
    out.append(a.substr(pos, b - pos));
    out.append(kRedacted);
    pos = std::min(r.end, a.size());
  }
  out.append(a.substr(pos));
}

std::string redact_secrets(std::string_view text, const SecretScan& scan) {
  std::vector<Range> ranges;
  find_secrets(text, scan, ranges);
  std::string out;
  out.reserve(text.size());
  append_with_ranges_redacted(out, text, ranges);
  return out;
}

bool scrub_exact(std::string& s, std::string_view secret) {
  if (secret.size() < 8) return false;
  bool any = false;
  for (std::size_t p = s.find(secret); p != std::string::npos; p = s.find(secret, p + kRedacted.size())) {
    s.replace(p, secret.size(), kRedacted);
    any = true;
  }
  return any;
}

}  // namespace shadowmeter::redaction
