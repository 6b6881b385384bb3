// The typed values that travel between the store and a database connection, shared by connection.h
// and by Store::report_rows() (the reports' aggregate statements).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace shadowmeter::collector::sql {

enum class Dialect : std::uint8_t { sqlite, postgresql };

// NULL, integer, floating point or text. Booleans travel as 0/1 (SQLite has no boolean type and
// PostgreSQL reads "1"/"0" as true/false for a boolean column).
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;
using Row = std::vector<Value>;

inline bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }
std::optional<std::int64_t> as_int(const Value& v);  // integers (and integral text); else nullopt
std::optional<double> as_double(const Value& v);     // numbers (and numeric text); else nullopt
std::optional<std::string> as_text(const Value& v);  // text; else nullopt

}  // namespace shadowmeter::collector::sql
