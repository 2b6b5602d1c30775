#include "plugins/common/s3/s3_options.h"

#include "config/parser.h"
#include "runtime/logging.h"

namespace sluice::s3 {

std::vector<OptionSpec> connection_option_specs() {
  OptionSpec bucket = option_spec("bucket", OptionType::String, std::nullopt, "The S3 bucket.");
  bucket.required = true;
  return {
      bucket,
      option_spec("region", OptionType::String, cv_string("us-east-1"), "The AWS region (also signed into SigV4)."),
      option_spec("endpoint", OptionType::String, std::nullopt,
                  "A custom S3 endpoint, e.g. http://127.0.0.1:9000 (MinIO, Ceph, Swift s3api); buckets are then "
                  "addressed path-style."),
      option_spec("access_key_id", OptionType::String, std::nullopt,
                  "The access key; when unset, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN."),
      option_spec("secret_access_key", OptionType::Password, std::nullopt, "The secret key (never logged)."),
      option_spec("session_token", OptionType::Password, std::nullopt, "A session token for temporary credentials."),
      option_spec("proxy_uri", OptionType::Uri, std::nullopt, "An HTTP proxy, e.g. http://proxy:3128."),
      option_spec("additional_settings", OptionType::Hash, cv_hash(),
                  "Client settings; supported: force_path_style (true/false)."),
      option_spec("ssl_verification_mode", OptionType::String, cv_string("full"),
                  "sluice extension: full verifies the server certificate and host name; none does not.",
                  {"full", "none"}),
      option_spec("ssl_certificate_authorities", OptionType::Path, std::nullopt,
                  "sluice extension: a PEM file of CAs trusted for the endpoint (default: the system's)."),
      option_spec("aws_credentials_file", OptionType::Path, std::nullopt,
                  "Not supported by sluice (use access_key_id/secret_access_key or the AWS_* environment)."),
  };
}

S3Settings settings_from_options(const Options& options) {
  S3Settings s;
  s.bucket = options.get_string("bucket");
  if (s.bucket.empty()) throw config::ConfigError(options.position("bucket"), "s3: `bucket` must not be empty");
  s.region = options.get_string("region");
  s.endpoint = options.get_string("endpoint");
  while (s.endpoint.ends_with('/')) s.endpoint.pop_back();
  s.credentials.access_key_id = options.get_string("access_key_id");
  s.credentials.secret_access_key = options.get_string("secret_access_key");
  s.credentials.session_token = options.get_string("session_token");
  if (!s.credentials.access_key_id.empty() && s.credentials.secret_access_key.empty())
    throw config::ConfigError(options.position("access_key_id"),
                              "s3: `access_key_id` is set but `secret_access_key` is not");
  if (options.has("aws_credentials_file"))
    throw config::ConfigError(options.position("aws_credentials_file"),
                              "s3: `aws_credentials_file` is not supported by sluice; use access_key_id and "
                              "secret_access_key (they accept ${ENV} references)");
  s.http.proxy = options.get_string("proxy_uri");
  s.http.verify_tls = options.get_string("ssl_verification_mode") != "none";
  s.http.ca_file = options.get_string("ssl_certificate_authorities");
  s.http.timeout_ms = 120000;
  for (const auto& [name, value] : options.get_string_hash("additional_settings")) {
    if (name == "force_path_style") {
      s.force_path_style = value == "true";
    } else {
      logging::get("s3")->warn("s3: additional_settings `{}` is not supported by sluice and is ignored", name);
    }
  }
  return s;
}

}  // namespace sluice::s3
