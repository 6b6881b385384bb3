#include "pricing/price_table.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <stdexcept>
#include <utility>

#include "pricing/model_names.h"

namespace shadowmeter::pricing {
namespace {

std::uint32_t intern(std::vector<std::string>& pool, std::string_view s) {
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (pool[i] == s) return static_cast<std::uint32_t>(i);
  }
  pool.emplace_back(s);
  return static_cast<std::uint32_t>(pool.size() - 1);
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::runtime_error("price table " + path + ": it is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("price table " + path + ": cannot open the file: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error("price table " + path + ": cannot read the file");
  if (static_cast<std::uint64_t>(size) > kMaxTableBytes)
    throw std::runtime_error("price table " + path + ": larger than " + std::to_string(kMaxTableBytes >> 20) +
                             " MiB");
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), size)) throw std::runtime_error("price table " + path + ": cannot read the file");
  return text;
}

}  // namespace

PriceTable PriceTable::parse(std::string_view json_text, std::string label) {
  const std::string name = label;
  return from_text(json_text, std::move(label), name);
}

PriceTable PriceTable::from_text(std::string_view json_text, std::string label, std::string_view name) {
  PriceTable t;
  const std::uint32_t label_index = intern(t.labels_, label);
  ReadResult r =
      read_litellm_json(json_text, [&](std::string_view key, const Price& price, std::string_view provider) {
        t.put(std::string(key), price, provider, label_index);
      });
  if (!r.error.empty()) throw std::runtime_error("price table " + std::string(name) + ": " + r.error);
  t.stats_ = r.stats;
  t.as_of_ = std::move(r.as_of);
  t.first_invalid_ = std::move(r.first_invalid);
  return t;
}

// A file someone wrote for this agent: an entry it cannot use is an error naming the file, the model
// and the field, not a silent skip (PriceTable::parse, for texts of unknown origin, skips them).
static PriceTable strict(PriceTable t, const std::string& path) {
  const std::size_t n = t.stats().skipped_invalid;
  if (n == 0) return t;
  throw std::runtime_error("price table " + path + ": " + t.first_invalid() +
                           (n > 1 ? " (and " + std::to_string(n - 1) + " more invalid entries)" : ""));
}

PriceTable PriceTable::load_file(const std::string& path) {
  return strict(from_text(read_file(path), "file:" + path, path), path);
}

PriceTable PriceTable::builtin_from_file(const std::string& path) {
  PriceTable t = strict(from_text(read_file(path), "builtin", path), path);
  // The date is only known once the text is read; a fresh table has exactly one label.
  if (!t.as_of_.empty()) t.labels_.front() = "builtin:" + t.as_of_;
  return t;
}

void PriceTable::put(std::string key, const Price& price, std::string_view litellm_provider,
                     std::uint32_t label_index) {
  const std::uint32_t provider = intern(providers_, litellm_provider);
  std::string lower = to_lower(key);
  if (auto it = index_.find(lower); it != index_.end()) {
    entries_[it->second] = Entry{std::move(key), price, provider, label_index};
    return;
  }
  index_.emplace(std::move(lower), entries_.size());
  entries_.push_back(Entry{std::move(key), price, provider, label_index});
}

void PriceTable::overlay(const PriceTable& upper) {
  if (&upper == this) return;
  for (const Entry& e : upper.entries_)
    put(e.key, e.price, upper.providers_[e.provider], intern(labels_, upper.labels_[e.label]));
}

const PriceTable::Entry* PriceTable::lookup(std::string_view lower_key) const {
  const auto it = index_.find(lower_key);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

PriceMatch PriceTable::match_of(const Entry& e) const {
  return PriceMatch{&e.price, e.key, providers_[e.provider], labels_[e.label] + ":" + e.key};
}

std::optional<PriceMatch> PriceTable::exact(std::string_view key) const {
  const Entry* e = lookup(to_lower(key));
  if (e == nullptr) return std::nullopt;
  return match_of(*e);
}

std::optional<PriceMatch> PriceTable::find(std::string_view provider, std::string_view model) const {
  const ProviderKeys* keys = provider_keys(provider);
  std::string candidate;
  for (const std::string& form : model_variants(model)) {
    const Entry* first_found = nullptr;
    auto consider = [&](std::string_view key) -> const Entry* {
      const Entry* e = lookup(key);
      if (e == nullptr) return nullptr;
      if (keys == nullptr || provider_fits(*keys, providers_[e->provider])) return e;
      if (first_found == nullptr) first_found = e;
      return nullptr;
    };
    if (keys != nullptr) {
      for (std::string_view prefix : keys->prefixes) {
        if (prefix.empty()) continue;
        candidate.assign(prefix).append(form);
        if (const Entry* e = consider(candidate)) return match_of(*e);
      }
    }
    if (const Entry* e = consider(form)) return match_of(*e);
    if (first_found != nullptr) return match_of(*first_found);
  }
  return std::nullopt;
}

}  // namespace shadowmeter::pricing
