export default function HomePage() {
  return (
    <main className="mx-auto max-w-3xl p-8">
      <h1 className="text-3xl font-semibold">Montage</h1>
      <p className="mt-2 text-slate-400">Multi-step AI media workflows. The API is described at /api/openapi.json.</p>
    </main>
  );
}
