/** @type {import('next').NextConfig} */
const nextConfig = {
  // Builds go to .next; servers started by npm start and npm test serve a copy of a finished build
  // that no later build touches (scripts/served-build.ts), named by MONTAGE_DIST_DIR.
  distDir: process.env.MONTAGE_DIST_DIR || ".next",
  // Native and binary-carrying packages stay outside the bundle and load from node_modules.
  serverExternalPackages: [
    "better-sqlite3",
    "@prisma/adapter-better-sqlite3",
    "@prisma/adapter-pg",
    "@prisma/client",
    "pg",
    "sharp",
    "@ffmpeg-installer/ffmpeg",
    "busboy",
    "pino",
    // One copy of OpenTelemetry per process: the provider instrumentation registers is the one every route's spans use.
    "@opentelemetry/api",
    "@opentelemetry/sdk-trace-node",
    "@opentelemetry/sdk-trace-base",
    "@opentelemetry/exporter-trace-otlp-http",
    "@opentelemetry/resources",
  ],
  poweredByHeader: false,
  reactStrictMode: true,
  typescript: { ignoreBuildErrors: false, tsconfigPath: "tsconfig.build.json" },
  outputFileTracingIncludes: { "/*": ["./node_modules/@ffmpeg-installer/**/*"] },
};

export default nextConfig;
