// Pipeline (skeleton; being implemented): passes every message unchanged.
#include "junction/engine/rules.h"

namespace junction::engine {
namespace {
class PassPipeline : public Pipeline {
 public:
  StageResult Run(hl7::Message*, const MessageContext&) override { return {}; }
  bool empty() const override { return true; }
};
}  // namespace

Result<std::unique_ptr<Pipeline>> Pipeline::Compile(const PipelineSpec& spec,
                                                    std::shared_ptr<const Tables>, LuaLimits) {
  if (!spec.empty()) return Status::Invalid("rules are not implemented yet");
  return std::unique_ptr<Pipeline>(new PassPipeline());
}

}  // namespace junction::engine
