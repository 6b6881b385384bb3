#include <catch2/catch.hpp>
#include <string>

#include "redaction/secrets.h"

using shadowmeter::redaction::redact_secrets;
using shadowmeter::redaction::scrub_exact;
using shadowmeter::redaction::SecretScan;

TEST_CASE("secrets: values of secret-named keys, in every quoting") {
  CHECK(redact_secrets("--api-key=sk-1") == "--api-key=***");
  CHECK(redact_secrets("OPENAI_API_KEY=abc123") == "OPENAI_API_KEY=***");
  CHECK(redact_secrets(R"({"anthropic-version": "2023-06-01", "x-api-key": "s3cr3t-value"})") ==
        R"({"anthropic-version": "2023-06-01", "x-api-key": "***"})");
  CHECK(redact_secrets(R"({'api-key':'abc def'})") == R"({'api-key':'***'})");
  CHECK(redact_secrets(R"({\"x-api-key\": \"abcdef\"})") == R"({\"x-api-key\": \"***\"})");
  CHECK(redact_secrets("api_key: abcdef\nmodel: gpt-4o") == "api_key: ***\nmodel: gpt-4o");
  CHECK(redact_secrets("token = 'abc'") == "token = '***'");
  CHECK(redact_secrets("api-key: abcdef") == "api-key: ***");
  CHECK(redact_secrets(R"({"Authorization": "Bearer abc.def"})") == R"({"Authorization": "Bearer ***"})");
  CHECK(redact_secrets("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic ***");
  CHECK(redact_secrets("https://h/v1?alt=sse&key=abc&x=1") == "https://h/v1?alt=sse&key=***&x=1");
  CHECK(redact_secrets("https://h/v1?token=abc#f") == "https://h/v1?token=***#f");
  CHECK(redact_secrets("postgresql://bob:hunter2@db/app") == "postgresql://bob:***@db/app");
  CHECK(redact_secrets("x bearer abc") == "x bearer ***");
  // Names that say nothing secret, and URLs, stay.
  CHECK(redact_secrets(R"({"model": "gpt-4o", "max_tokens": 5})") ==
        R"({"model": "gpt-4o", "max_tokens": 5})");
  CHECK(redact_secrets("https://api.openai.com/v1/chat/completions") ==
        "https://api.openai.com/v1/chat/completions");
}

TEST_CASE("secrets: known key shapes wherever they stand") {
  const std::string ant = "sk-ant-api03-" + std::string(40, 'A') + "b9_x";
  CHECK(redact_secrets("run " + ant + " now") == "run *** now");
  CHECK(redact_secrets("[\"" + ant + "\"]") == "[\"***\"]");
  CHECK(redact_secrets("sk-proj-abcdefghijklmnopqrstuv") == "***");
  CHECK(redact_secrets("key:AIzaSyA1234567890abcdefghijklmnopqrstu") == "key:***");
  CHECK(redact_secrets("AIzaSyA1234567890abcdefghijklmnopqrstu,") == "***,");
  CHECK(redact_secrets("id AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") ==
        "id *** secret ***");
  CHECK(redact_secrets("xai-" + std::string(30, 'z') + "9") == "***");
  CHECK(redact_secrets("gsk_" + std::string(30, 'Q') + "1") == "***");
  CHECK(redact_secrets("(hf_" + std::string(30, 'q') + ")") == "(***)");
  CHECK(redact_secrets("tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl") == "tok ***");
  CHECK(redact_secrets("mistral Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z end") == "mistral *** end");
  // Look-alikes that are not keys stay.
  CHECK(redact_secrets("scikit-learn sk-learn task-management hf_hub") ==
        "scikit-learn sk-learn task-management hf_hub");
  CHECK(redact_secrets("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Without an access key id, 40 characters of the secret alphabet are not taken for a secret.
  CHECK(redact_secrets("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") ==
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  CHECK(redact_secrets("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SecretScan{true}) == "***");
}

TEST_CASE("secrets: the exact credential is scrubbed wherever it occurs") {
  std::string s = "/opt/tok-Zq9Zq9Zq9/bin/app --x=tok-Zq9Zq9Zq9 tok-Zq9Zq9Zq9";
  CHECK(scrub_exact(s, "tok-Zq9Zq9Zq9"));
  CHECK(s == "/opt/***/bin/app --x=*** ***");
  CHECK_FALSE(scrub_exact(s, "tok-Zq9Zq9Zq9"));
  std::string shortish = "a abc b";
  CHECK_FALSE(scrub_exact(shortish, "abc"));  // too short to be a key: left alone
  CHECK(shortish == "a abc b");
}
