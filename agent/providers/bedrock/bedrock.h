// The AWS Bedrock runtime wire format (bedrock-runtime.{region}.amazonaws.com): Converse,
// ConverseStream, InvokeModel and InvokeModelWithResponseStream, the streams in AWS event-stream
// framing.
#pragma once

#include <memory>
#include <string>

#include "providers/provider.h"

namespace shadowmeter::providers {

// `provider_name` is what events report as gen_ai.provider.name ("aws.bedrock").
std::unique_ptr<Provider> make_bedrock_provider(std::string provider_name);

}  // namespace shadowmeter::providers
