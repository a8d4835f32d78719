#include "virt/capture.hpp"

#include "bundle/bundle_writer.hpp"
#include "virt/capture_plan.hpp"
#include "virt/domain.hpp"

#include <sstream>
#include <system_error>

namespace appshare {
namespace {

Result<void> check_capturable(const Domain& dom, const std::string& name)
{
    auto state = domain_state(dom);
    if (!state) return std::move(state).error();
    if (*state != DomainState::ShutOff) {
        return make_error(ErrorCode::DomainRunning,
                          "domain " + name + " is " + std::string(domain_state_name(*state)) +
                              ", and only a shut-off domain's disk is consistent; shut it down (virsh shutdown " +
                              name + ") and capture again.");
    }
    auto snapshots = domain_snapshot_count(dom);
    if (!snapshots) return std::move(snapshots).error();
    if (*snapshots > 0) {
        return make_error(ErrorCode::Usage,
                          "domain " + name + " has " + std::to_string(*snapshots) +
                              " snapshot(s), and a capture would keep only the current state; delete them "
                              "(virsh snapshot-delete) or revert to the one you want, and capture again.");
    }
    return ok();
}

// Puts the domain back as it was defined (after a failed --replace) and returns `error`.
Error put_back(const Connection& conn, const std::string& name, const std::string& xml,
               const std::filesystem::path& bundle, Error error)
{
    std::error_code ec;
    std::filesystem::remove_all(bundle, ec);
    if (auto redefined = define_domain(conn, xml); !redefined) {
        return make_error(error.code, message_what_failed(error.message) + ", and domain " + name +
                                          " could not be defined again (" + message_what_failed(redefined.error().message) +
                                          "); define it from a backup of its XML with virsh define");
    }
    return error;
}

}  // namespace

Result<CaptureResult> capture_domain(const Connection& conn, const Config& config, const CaptureRequest& request)
{
    auto dom = lookup_domain(conn, request.domain);
    if (!dom) return std::move(dom).error();
    if (auto r = check_capturable(*dom, request.domain); !r) return std::move(r).error();
    auto xml = domain_xml(*dom, DomainXmlKind::Inactive);
    if (!xml) return std::move(xml).error();
    auto plan = plan_capture(*xml, request.domain);
    if (!plan) return std::move(plan).error();
    for (const auto& w : plan->warnings) {
        if (request.notice) request.notice(w);
    }
    Manifest& m = plan->content.manifest;
    m.name = request.name.value_or(request.domain);
    m.version = request.version.value_or("1");

    auto bundle = write_bundle(plan->content, request.output, request.show_progress);
    if (!bundle) {
        Error e = std::move(bundle).error();
        if (e.code == ErrorCode::BadManifest && !request.name && e.message.find("name") != std::string::npos) {
            e = make_error(ErrorCode::Usage, "domain name " + request.domain +
                                                 " is not an appliance name (letters, digits, '.', '_', '-'); give "
                                                 "one with --name.");
        }
        return e;
    }
    CaptureResult result{std::move(*bundle), std::move(plan->warnings), plan->content.image, std::nullopt};
    if (!request.replace) return result;

    // The domain becomes an instance of the appliance: undefine, install under its name, and on
    // any failure define the old XML again. Its NVRAM and TPM state stay on disk either way.
    if (auto r = undefine_domain(*dom, FirmwareState::Keep); !r) {
        std::error_code ec;
        std::filesystem::remove_all(request.output, ec);
        return std::move(r).error();
    }
    InstallRequest install;
    install.bundle = request.output;
    install.name = request.domain;
    if (!plan->title.empty()) install.title = plan->title;
    install.show_progress = request.show_progress;
    install.notice = request.notice;
    auto installed = install_appliance(conn, config, install);
    if (!installed) return put_back(conn, request.domain, *xml, request.output, std::move(installed).error());
    result.replaced = std::move(*installed);
    return result;
}

std::string capture_summary(const CaptureResult& r)
{
    std::ostringstream out;
    out << bundle_summary(r.bundle);
    if (r.replaced) {
        out << "domain " << r.replaced->name << " is now an appshare instance of " << r.replaced->appliance << " "
            << r.replaced->version << ", its disk a thin context on " << r.replaced->base.string() << "\n";
        out << "its old disk " << r.old_disk.string()
            << " (and any backing files) is no longer used and was kept; remove it when you no longer need it\n";
    }
    out << "thin clones: appshare install " << r.bundle.bundle.string() << " --name NAME\n";
    return out.str();
}

}  // namespace appshare
