export const serverVersion = "pnm-0.1.0";
