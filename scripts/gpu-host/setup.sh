# Sourced by the run scripts, from the repository root on the GPU host: Node and the trimmed
# production node_modules from .devnode, the OpenCV stand-in as ffmpeg, and (when .gl was
# carried) the Vulkan loader for WebGPU. Then `step NAME` logs a timed heading to $L.
if [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
mkdir -p /tmp/n && xz -dc .devnode/node.xz > /tmp/n/node && chmod +x /tmp/n/node
tar xJf .devnode/mods.tar.xz -C .
# FFMPEG_PATH already set wins: a dry run on a machine with a real ffmpeg and no OpenCV.
export PATH=/tmp/n:$PATH FFMPEG_PATH=${FFMPEG_PATH:-$PWD/.devnode/ffmpeg}
step() { echo "=== $* ($(date +%T))" | tee -a "$L"; }
