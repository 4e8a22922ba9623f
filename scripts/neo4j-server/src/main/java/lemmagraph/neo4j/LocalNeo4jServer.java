package lemmagraph.neo4j;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.graphdb.QueryExecutionException;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * Runs a Neo4j Community server in this JVM, with Bolt on 127.0.0.1, until the process is stopped.
 *
 * <p>Usage: {@code LocalNeo4jServer DIR [PORT]}. The database files live in {@code DIR/data}, so
 * they survive a restart. The harness runs each server in a fresh folder under {@code DIR/run},
 * which it deletes on a clean shutdown. PORT 0, the default, lets the system pick a free port.
 *
 * <p>Authentication is enabled, and the password of the built-in {@code neo4j} user is set on
 * every start to the value of the {@code LEMMAGRAPH_NEO4J_PASSWORD} environment variable, so the
 * password never appears in the process list. When the server accepts Bolt connections, its Bolt
 * URI is written to {@code DIR/bolt-uri} and printed as a line starting with "ready ".
 */
public final class LocalNeo4jServer {
    private static final String PASSWORD_VARIABLE = "LEMMAGRAPH_NEO4J_PASSWORD";
    private static final long PAGE_CACHE_BYTES = 128L * 1024 * 1024;

    private LocalNeo4jServer() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: LocalNeo4jServer DIR [PORT]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = args.length == 2 ? Integer.parseInt(args[1]) : 0;
        String password = System.getenv(PASSWORD_VARIABLE);
        if (password == null || password.length() < 8) {
            // Neo4j 5 rejects passwords shorter than 8 characters.
            System.err.println(PASSWORD_VARIABLE + " is missing or shorter than 8 characters");
            System.exit(2);
        }

        Files.createDirectories(home.resolve("run"));
        Neo4j server = Neo4jBuilders.newInProcessBuilder(home.resolve("run"))
                .withDisabledServer()
                .withConfig(GraphDatabaseSettings.data_directory, home.resolve("data"))
                .withConfig(GraphDatabaseSettings.auth_enabled, true)
                .withConfig(GraphDatabaseSettings.pagecache_memory, PAGE_CACHE_BYTES)
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .withConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("stopping");
            server.close();
            stopped.countDown();
        }));

        try {
            setPassword(server, password);
        } catch (RuntimeException error) {
            // Without this, the server's own threads would keep the JVM running after main fails.
            server.close();
            throw error;
        }

        URI boltUri = server.boltURI();
        String bolt = "bolt://" + boltUri.getHost() + ":" + boltUri.getPort();
        writeAtomically(home.resolve("bolt-uri"), bolt + "\n");
        System.out.println("ready " + bolt);
        System.out.flush();
        stopped.await();
    }

    /** Sets the password of the built-in user, which a restart with the same data already has. */
    private static void setPassword(Neo4j server, String password) {
        try {
            // Embedded transactions run without a login, so they may change the password.
            server.databaseManagementService()
                    .database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME)
                    .executeTransactionally(
                            "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                            Map.of("password", password));
        } catch (QueryExecutionException error) {
            // Neo4j 5.26 rejects setting the current password again, with this message.
            if (error.getMessage() == null || !error.getMessage().contains("cannot be the same")) {
                throw error;
            }
        }
    }

    private static void writeAtomically(Path target, String text) throws IOException {
        Path temporary = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(temporary, text, StandardCharsets.UTF_8);
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
