// File source (skeleton; being implemented).
#include "junction/engine/file_source.h"

namespace junction::engine {

FileSource::FileSource(store::Store* store, std::string channel, FileSourceConfig config,
                       OnStored on_stored)
    : store_(store), channel_(std::move(channel)), config_(std::move(config)),
      on_stored_(std::move(on_stored)) {}
FileSource::~FileSource() { Stop(); }
Status FileSource::Start() { return Status::Invalid("file sources are not implemented yet"); }
void FileSource::Stop() {}
Result<std::size_t> FileSource::PollOnce() { return Status::Invalid("not implemented yet"); }
FileSourceStats FileSource::stats() const { return {files_, messages_, failed_}; }

}  // namespace junction::engine
