/** @type {import('next').NextConfig} */
const nextConfig = {
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
  ],
  poweredByHeader: false,
  reactStrictMode: true,
  typescript: { ignoreBuildErrors: false },
  outputFileTracingIncludes: { "/*": ["./node_modules/@ffmpeg-installer/**/*"] },
};

export default nextConfig;
