{
  "variables": {
    "mle_lib_dir%": "<!(node -p \"require('./scripts/paths.js').libDir()\")",
    "mle_include_dir%": "<!(node -p \"require('./scripts/paths.js').includeDir()\")",
    "mle_rpath_origin%": "<!(node -p \"require('./scripts/paths.js').rpathOrigin()\")",
    "napi_include_dir%": "<!(node -p \"require('node-addon-api').include_dir\")"
  },
  "targets": [
    {
      "target_name": "mle",
      "sources": ["src/addon.cc"],
      "include_dirs": ["<(napi_include_dir)", "<(mle_include_dir)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-L<(mle_lib_dir)", "-lmle"],
      "conditions": [
        ["mle_rpath_origin==1", {
          "ldflags": ["-Wl,-rpath,'$$ORIGIN'"]
        }, {
          "ldflags": ["-Wl,-rpath,<(mle_lib_dir)"]
        }]
      ]
    }
  ]
}
