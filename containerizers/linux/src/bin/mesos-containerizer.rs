//! `mesos-containerizer launch --runtime_directory=DIR --pipe_read=FD`: the launch helper the
//! Linux containerizer clones into a new container. See `linux_containerizer::helper`.

fn main() {
    std::process::exit(linux_containerizer::helper::main());
}
