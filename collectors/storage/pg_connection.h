// A PostgreSQL connection for the store (libpq, text parameters through PQexecParams). A connection
// found lost is reset once before the next use; error messages carry the server's text and never
// the password.
#pragma once

#include <memory>
#include <string>

#include "storage/connection.h"

namespace shadowmeter::collector::sql {

// `url` is a libpq URI ("postgresql://user:password@host:port/db?sslmode=require"). Throws StoreError
// naming the redacted URL and the server's reason when it cannot connect.
std::unique_ptr<Connection> open_postgres(const std::string& url);

// "?" placeholders to PostgreSQL's "$1", "$2", ... ("?" inside '...' literals left alone).
std::string to_dollar_placeholders(const std::string& sql);

}  // namespace shadowmeter::collector::sql
