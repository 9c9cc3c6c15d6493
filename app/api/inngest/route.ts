import { serve } from "inngest/next";
import { inngestClient } from "@/lib/inngest/client";
import { functions } from "@/lib/inngest/functions";

/** Inngest calls this endpoint to sync Montage's functions (PUT), introspect them (GET) and run steps (POST). */
export const { GET, POST, PUT } = serve({ client: inngestClient(), functions });
