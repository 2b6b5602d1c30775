// The connection options the s3 input and output share (Logstash's AWS mixin: bucket aside,
// region, endpoint, credentials, proxy_uri, additional_settings), and the S3Settings they make.
#pragma once

#include <vector>

#include "plugins/common/s3/s3_client.h"
#include "runtime/options.h"
#include "runtime/schema.h"

namespace sluice::s3 {

std::vector<OptionSpec> connection_option_specs();
// Throws config::ConfigError (at the option's position) for invalid values.
S3Settings settings_from_options(const Options& options);

}  // namespace sluice::s3
